"""Emergency lockdown: every session ends at once, only admins sign in, the public form works."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from audit.models import AuditEntry
from intake.models import HelpRequest
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import enter_password, sign_in, totp_code

pytestmark = pytest.mark.django_db


def english_client() -> Client:
    other = Client()
    other.cookies["django_language"] = "en"
    return other


def lockdown(*args: str) -> str:
    out = io.StringIO()
    call_command("lockdown", *args, stdout=out)
    return out.getvalue()


def test_lockdown_ends_a_live_caseworker_session(client, alice):
    case = CaseFactory()
    sign_in(client, alice)
    assert client.get(f"/staff/cases/{case.request.reference}/").status_code == 200

    assert "1 session(s) ended" in lockdown()

    refused = client.get(f"/staff/cases/{case.request.reference}/")
    assert refused.status_code == 302
    assert refused["Location"].startswith("/staff/login/")
    assert case.request.narrative not in refused.content.decode()


def test_caseworkers_and_coordinators_cannot_sign_in_during_a_lockdown(client, alice, carol):
    lockdown()

    for person in (alice, carol):
        page = enter_password(client, person.username).content.decode()
        assert "suspended by an emergency lockdown" in page
        assert client.get("/staff/").status_code == 302
    refusals = AuditEntry.objects.filter(action="auth.refused", detail__reason="lockdown")
    assert set(refusals.values_list("target", flat=True)) == {"alice", "carol"}


def test_admins_still_sign_in_with_their_second_factor(client, dave):
    lockdown()

    assert enter_password(client, dave.username)["Location"] == "/staff/verify/"
    # The password alone opens nothing.
    assert client.get("/staff/accounts/")["Location"] == "/staff/verify/"
    client.post("/staff/verify/", {"code": totp_code(dave.device)})
    assert client.get("/staff/accounts/").status_code == 200


def test_someone_between_password_and_code_is_stopped_at_the_code(client, alice):
    enter_password(client, alice.username)
    lockdown()
    # Every session ended: the half-signed-in one as well.
    response = client.post("/staff/verify/", {"code": totp_code(alice.device)})
    assert response["Location"].startswith("/staff/login/")
    assert client.get("/staff/").status_code == 302


def test_the_public_form_keeps_accepting_requests(client):
    lockdown()

    submit(client)

    assert HelpRequest.objects.count() == 1


def test_an_admin_starts_it_from_the_web_after_confirming(client, dave, alice):
    caseworker = english_client()
    sign_in(caseworker, alice)
    sign_in(client, dave)

    unconfirmed = client.post("/staff/lockdown/", {})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.content.decode()
    assert caseworker.get("/staff/").status_code == 200

    response = client.post("/staff/lockdown/", {"confirm": "on"})

    assert response["Location"] == "/staff/login/"
    assert caseworker.get("/staff/").status_code == 302
    # The admin's own session ended too; they sign in again to lift it.
    assert client.get("/staff/lockdown/").status_code == 302
    entry = AuditEntry.objects.get(action="lockdown.start")
    # The caseworker's; the admin's own ended as they were signed out.
    assert (entry.actor, entry.detail["sessions_ended"]) == ("dave", 1)


def test_an_admin_lifts_it_from_the_web(client, dave, alice):
    lockdown()
    sign_in(client, dave)
    assert "A lockdown has been in force" in client.get("/staff/lockdown/").content.decode()

    client.post("/staff/lockdown/")

    assert AuditEntry.objects.get(action="lockdown.lift").actor == "dave"
    other = english_client()
    sign_in(other, alice)
    assert other.get("/staff/").status_code == 200


def test_the_command_lifts_and_reports_status(alice):
    lockdown()
    assert "in force since" in lockdown("--status")
    with pytest.raises(CommandError, match="already in force"):
        lockdown()

    assert "Lockdown lifted" in lockdown("--lift")
    assert "No lockdown is in force" in lockdown("--status")
    with pytest.raises(CommandError, match="No lockdown"):
        lockdown("--lift")
    assert list(
        AuditEntry.objects.filter(action__startswith="lockdown.")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["lockdown.start", "lockdown.lift"]


def test_a_live_admin_session_ends_as_well(client, dave):
    sign_in(client, dave)

    lockdown()

    assert client.get("/staff/accounts/")["Location"].startswith("/staff/login/")


def test_only_admins_reach_the_lockdown_page(client, alice, carol):
    for person in (alice, carol):
        other = english_client()
        sign_in(other, person)
        assert other.post("/staff/lockdown/", {"confirm": "on"}).status_code == 403
    assert not AuditEntry.objects.filter(action="lockdown.start").exists()


def test_admins_see_the_lockdown_on_every_page_while_it_lasts(client, dave):
    lockdown()
    sign_in(client, dave)

    assert "Emergency lockdown in force" in client.get("/staff/accounts/").content.decode()
    lockdown("--lift")
    assert "Emergency lockdown in force" not in client.get("/staff/accounts/").content.decode()
