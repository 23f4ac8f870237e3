"""Admins create staff, reset their authenticators and deactivate accounts."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from tests.staffing import enter_password, make_staff, sign_in

pytestmark = pytest.mark.django_db


def test_an_admin_creates_an_account_whose_password_is_shown_once(client, dave):
    sign_in(client, dave)
    response = client.post("/staff/accounts/new/", {"username": "mallory", "role": "caseworker"})

    password = response.context["password"]
    assert password in response.content.decode()
    person = get_user_model().objects.get(username="mallory")
    assert person.groups.get().name == "caseworker"
    assert AuditEntry.objects.filter(action="staff.create", actor="dave", target="mallory").exists()
    assert password not in str(list(AuditEntry.objects.values()))
    client.post("/staff/logout/")
    assert enter_password(client, "mallory", password)["Location"] == "/staff/enrol/"


def test_a_taken_username_is_refused(client, dave, alice):
    sign_in(client, dave)
    response = client.post("/staff/accounts/new/", {"username": "alice", "role": "admin"})

    assert "already exists" in response.content.decode()


def test_resetting_a_device_ends_the_sessions_and_asks_for_enrolment(client, dave, alice):
    from django.test import Client

    theirs = Client()
    sign_in(theirs, alice)
    sign_in(client, dave)

    client.post(f"/staff/accounts/{alice.user.pk}/reset-device/")

    assert theirs.get("/staff/").status_code == 302
    assert enter_password(theirs, "alice")["Location"] == "/staff/enrol/"


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(client, dave, alice):
    from django.test import Client

    theirs = Client()
    sign_in(theirs, alice)
    sign_in(client, dave)

    client.post(f"/staff/accounts/{alice.user.pk}/deactivate/")

    assert theirs.get("/staff/")["Location"].startswith("/staff/login/")
    assert enter_password(theirs, "alice").status_code == 200  # refused, form shown again
    assert AuditEntry.objects.filter(action="staff.deactivate", target="alice").exists()


def test_an_admin_cannot_deactivate_themselves(client, dave):
    sign_in(client, dave)
    client.post(f"/staff/accounts/{dave.user.pk}/deactivate/")

    assert get_user_model().objects.get(pk=dave.user.pk).is_active


def test_an_admin_lifts_a_lock(client, dave):
    erin = make_staff("erin", "caseworker")
    for _ in range(10):
        enter_password(client, "erin", "wrong")
    sign_in(client, dave)

    client.post(f"/staff/accounts/{erin.user.pk}/unlock/")
    client.post("/staff/logout/")

    assert enter_password(client, "erin")["Location"] == "/staff/verify/"
