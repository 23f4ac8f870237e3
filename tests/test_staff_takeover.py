"""
Security review, item 2: an admin must not be able to sign in as a caseworker
unnoticed, with a password they handed out or after resetting an authenticator.
These tests play the admin's attempts through the pages only.
"""

import re
from base64 import b32decode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import TOTP

from audit.models import AuditEntry
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, confirmed_post, enter_password, make_staff, sign_in

pytestmark = pytest.mark.django_db
OWN_PASSWORD = "a phrase only the owner knows"


def browser() -> Client:
    other = Client()
    other.cookies["django_language"] = "en"
    return other


def created_by_admin(admin_client, username: str) -> str:
    response = admin_client.post(
        "/staff/accounts/new/", {"username": username, "role": "caseworker"}
    )
    return response.context["password"]


def code_from_enrol_page(page) -> str:
    groups = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.content.decode())
    secret = groups.group(1).replace(" ", "")
    return f"{TOTP(b32decode(secret + '=' * (-len(secret) % 8))).token():06d}"


def first_sign_in(client, username: str, password: str) -> None:
    """What a new account's owner (or whoever holds its password) does the first
    time: whatever the pages ask, until the account can see its home page."""
    response = enter_password(client, username, password)
    if response["Location"] == "/staff/password/":
        client.post(
            "/staff/password/",
            {
                "current_password": password,
                "new_password": OWN_PASSWORD,
                "new_password_again": OWN_PASSWORD,
            },
        )
    page = client.get("/staff/enrol/")
    assert page.status_code == 200, page
    client.post("/staff/enrol/", {"code": code_from_enrol_page(page)})
    assert client.get("/staff/", follow=True).status_code == 200


def test_an_admin_who_uses_the_password_they_issued_is_noticed(client, dave):
    client_of_dave = client
    sign_in(client_of_dave, dave)
    issued = created_by_admin(client_of_dave, "mallory")

    # The admin signs in as the new caseworker before its owner does...
    first_sign_in(browser(), "mallory", issued)

    # ...and the owner, given the same password, finds it no longer works.
    owner = browser()
    assert enter_password(owner, "mallory", issued).status_code == 200
    assert owner.get("/staff/").status_code == 302


def test_an_admin_cannot_take_over_an_account_by_resetting_its_authenticator(client, dave):
    case = CaseFactory(request__narrative="what the admin must never read")
    sign_in(client, dave)
    issued = created_by_admin(client, "erin")
    first_sign_in(browser(), "erin", issued)  # erin, the owner, starts working

    erin = get_user_model().objects.get(username="erin")
    confirmed_post(client, f"/staff/accounts/{erin.pk}/reset-device/")

    # The password the admin once handed out opens nothing any more.
    thief = browser()
    assert enter_password(thief, "erin", issued).status_code == 200
    assert thief.get("/staff/enrol/").status_code == 302
    page = thief.get(f"/staff/cases/{case.request.reference}/")
    assert b"what the admin must never read" not in page.content
    # The log names the admin who reset the account.
    assert AuditEntry.objects.filter(action="staff.reset_device", actor="dave", target="erin")


def test_admins_cannot_reset_their_own_authenticator(client, dave):
    sign_in(client, dave)

    confirmed_post(client, f"/staff/accounts/{dave.user.pk}/reset-device/")

    client.post("/staff/logout/")
    assert enter_password(client, "dave")["Location"] == "/staff/verify/"  # still enrolled


def test_a_reset_asks_for_confirmation_and_changes_nothing_before(client, dave, alice):
    sign_in(client, dave)

    client.post(f"/staff/accounts/{alice.user.pk}/reset-device/")
    client.post(f"/staff/accounts/{alice.user.pk}/deactivate/")

    theirs = browser()
    sign_in(theirs, alice)
    assert theirs.get("/staff/").status_code == 200


@pytest.mark.parametrize("role", ["caseworker", "coordinator", "admin"])
def test_every_role_changes_its_own_password(client, role):
    person = make_staff(f"someone-{role}", role)
    sign_in(client, person)

    response = client.post(
        "/staff/security/password/",
        {
            "current_password": PASSWORD,
            "new_password": OWN_PASSWORD,
            "new_password_again": OWN_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert client.get("/staff/security/").status_code == 200  # still signed in
    assert enter_password(browser(), person.username, PASSWORD).status_code == 200
    assert enter_password(browser(), person.username, OWN_PASSWORD).status_code == 302
    assert AuditEntry.objects.filter(action="auth.password_changed", actor=person.username)
