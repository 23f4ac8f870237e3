"""
Acting for the organisation needs the organisation key, not only the
caseworker role (issue 21, item 1). A caseworker account an admin made (no
grant), a revoked caseworker signing in again, and a stolen session cookie
without `tropa_unlock` each try every acting POST of the staff pages: each is
refused, changes nothing (the database rows, the requester's /status/ page),
and is audited as refused. Without the key, a caseworker sees only the page
that says they are waiting for access.
"""

import re

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEntry
from cases.models import Case, CaseNote, ReplyTemplate
from cases.services import hold_during_flood
from encryption import services as key_services
from encryption.session import COOKIE_NAME
from intake.models import RequestMessage
from intake.services import submit_request
from tests.factories import CaseFactory
from tests.staffing import confirmed_post, make_staff, sign_in
from tests.test_accessibility import request_record
from tests.test_content_keys import choose_password_and_enrol

pytestmark = pytest.mark.django_db

TRAP = "Write back with your name, your unit and where you are now 8812"


@pytest.fixture
def world(alice):
    """A request with its receipt code, a held request, and a reply template."""
    submission = submit_request(request_record(narrative="I need to leave the unit 8811"))
    held = CaseFactory()
    hold_during_flood(held, "flood-a")
    writer = Client()
    sign_in(writer, alice)
    writer.post(
        "/staff/templates/new/",
        {"title": "First answer", "language": "ru", "body": "We read your request."},
    )
    return {
        "reference": submission.help_request.reference,
        "code": submission.receipt_code,
        "held": held.request.reference,
        "template": ReplyTemplate.objects.get().pk,
    }


def acting_posts(world) -> list[tuple[str, dict]]:
    """Every acting POST of the caseworker pages, each with valid data."""
    case = f"/staff/cases/{world['reference']}"
    template = f"/staff/templates/{world['template']}"
    return [
        (f"{case}/reply/", {"body": TRAP}),
        (f"{case}/move/", {"to_state": "triaged", "expected_state": "new"}),
        (f"{case}/move/", {"to_state": "rejected", "expected_state": "new", "confirmed": "yes"}),
        (f"{case}/assign/", {"assignee": "me"}),
        (f"{case}/notes/", {"body": TRAP}),
        (f"{case}/follow-up/", {"follow_up_on": "2031-01-15"}),
        (f"{template}/", {"title": "First answer", "language": "ru", "body": TRAP}),
        (f"{template}/delete/", {}),
        ("/staff/templates/new/", {"title": "Trap", "language": "ru", "body": TRAP}),
        ("/staff/bulk/", {"selected": [world["reference"]], "action": "triage"}),
        ("/staff/bulk/", {"selected": [world["reference"]], "action": "assign_me"}),
        (
            "/staff/bulk/",
            {"selected": [world["reference"]], "action": "reject_spam", "confirmed": "on"},
        ),
        ("/staff/held/release/", {"scope": "case", "reference": world["held"]}),
        ("/staff/held/reject/", {"scope": "case", "reference": world["held"], "confirm": "on"}),
        ("/staff/due/digest/", {"email": "trap@example.org"}),
        ("/staff/search/", {"contact": "+7 900 000-88-12"}),
    ]


def stored_rows() -> dict[str, list[tuple]]:
    """The raw rows of every table an action could change, as the database holds them."""
    from django.contrib.auth import get_user_model

    rows = {}
    for model in (Case, CaseNote, RequestMessage, ReplyTemplate, get_user_model()):
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 (a model's table)
            rows[model._meta.label] = [tuple(map(_plain, row)) for row in cursor.fetchall()]
    return rows


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


def status_page(code: str) -> str:
    requester = Client()
    requester.cookies["django_language"] = "en"
    return requester.post("/status/", {"code": code}).content.decode()


def admin_made_caseworker(dave) -> Client:
    """As an admin: a new caseworker at /staff/accounts/new/; its owner signs in
    with the one-time password, chooses their own and enrols."""
    admin = Client()
    sign_in(admin, dave)
    page = admin.post(
        "/staff/accounts/new/", {"username": "infiltrated", "role": "caseworker"}
    ).content.decode()
    issued = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    newcomer = Client()
    choose_password_and_enrol(newcomer, "infiltrated", issued, "the newcomer's own passphrase")
    return newcomer


def revoked_caseworker(alice) -> Client:
    """A caseworker whose access alice revoked, signed in again with their own
    password and authenticator."""
    bob = make_staff("revoked", "caseworker")
    granter = Client()
    sign_in(granter, alice)
    confirmed_post(granter, f"/staff/access/{bob.user.pk}/revoke/")
    assert not key_services.has_access(bob.user)
    again = Client()
    sign_in(again, bob)
    return again


def session_cookie_only(alice) -> Client:
    """alice's session cookie, without her `tropa_unlock` cookie."""
    browser = Client()
    sign_in(browser, alice)
    stolen = Client()
    stolen.cookies["sessionid"] = browser.cookies["sessionid"].value
    assert COOKIE_NAME not in stolen.cookies
    return stolen


PEOPLE = {
    "an admin-made caseworker": lambda alice, dave: admin_made_caseworker(dave),
    "a revoked caseworker": lambda alice, dave: revoked_caseworker(alice),
    "the session cookie alone": lambda alice, dave: session_cookie_only(alice),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_without_the_organisation_key_every_acting_post_is_refused_and_audited(
    world, alice, dave, who
):
    client = PEOPLE[who](alice, dave)
    client.cookies["django_language"] = "en"
    before = stored_rows()
    refused_before = AuditEntry.objects.filter(action="case.refused").count()

    for path, data in acting_posts(world):
        response = client.post(path, data)
        assert response.status_code == 403, (who, path, response.status_code)
        assert "no access to the organisation key" in response.content.decode(), path

    assert stored_rows() == before
    page = status_page(world["code"])
    assert "Received." in page and TRAP not in page and "No messages yet" in page
    refused = AuditEntry.objects.filter(action="case.refused").order_by("pk")[refused_before:]
    assert len(refused) == len(acting_posts(world))
    assert {entry.detail["reason"] for entry in refused} == {"no_organisation_key"}
    assert refused[0].target == world["reference"]
    assert refused[0].detail["page"] == "cases:reply"


@pytest.mark.parametrize("who", PEOPLE)
def test_without_the_organisation_key_a_caseworker_sees_only_waiting_for_access(
    world, alice, dave, who
):
    client = PEOPLE[who](alice, dave)
    pages = [
        "/staff/",
        "/staff/new/",
        "/staff/due/",
        "/staff/held/",
        "/staff/templates/",
        f"/staff/templates/{world['template']}/",
        "/staff/search/?q=GL",
        f"/staff/cases/{world['reference']}/",
    ]
    for path in pages:
        response = client.get(path)
        assert (response.status_code, response.get("Location")) == (302, "/staff/access/"), path
    access = client.get("/staff/access/").content.decode()
    assert "Triage queue" not in access and 'name="q"' not in access
    assert world["reference"] not in access


def test_a_session_that_outlived_its_revocation_cannot_act(world, alice, bob):
    """Revoked without its sessions ending (the service alone): the session
    still holds the old key, and is refused all the same."""
    client = Client()
    sign_in(client, bob)
    key_services.revoke_access(bob.user, actor=alice.user)
    before = stored_rows()

    response = client.post(f"/staff/cases/{world['reference']}/reply/", {"body": TRAP})

    assert response.status_code == 403
    assert stored_rows() == before
    assert AuditEntry.objects.filter(action="case.refused", actor="bob").count() == 1


def test_a_caseworker_with_the_key_still_acts(world, alice):
    client = Client()
    sign_in(client, alice)

    client.post(f"/staff/cases/{world['reference']}/reply/", {"body": "We can help. 8813"})

    assert "We can help. 8813" in status_page(world["code"])
    assert not AuditEntry.objects.filter(action="case.refused").exists()


def test_a_session_that_outlived_its_revocation_cannot_grant_the_old_key(alice, bob):
    """A revoked caseworker's surviving session still holds the replaced key:
    granting it to an accomplice is refused like every other action."""
    accomplice = make_staff("accomplice", "caseworker", with_access=False)
    client = Client()
    sign_in(client, bob)
    key_services.revoke_access(bob.user, actor=alice.user)

    response = client.post(f"/staff/access/{accomplice.user.pk}/grant/", {"compared": "yes"})

    assert response.status_code == 403
    assert not key_services.has_access(accomplice.user)
    assert not accomplice.user.content_grants.exists()


def test_a_refusal_records_no_reference_that_is_not_stored():
    """Whatever was typed into the address (a name, a phone number) is not
    written to the audit log as the target of a refusal."""
    waiting = make_staff("nina", "caseworker", with_access=False)
    client = Client()
    sign_in(client, waiting)

    response = client.post("/staff/cases/ivan-petrov-89001234567/reply/", {"body": TRAP})

    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="case.refused")
    assert entry.target == "" and "petrov" not in str(entry.detail)
