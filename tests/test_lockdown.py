"""Emergency lockdown: every session ends at once, only admins sign in, the public form works."""

import io
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from intake.models import HelpRequest
from tests.content_keys import opened
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import enter_password, make_staff, sign_in, totp_code

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
    narrative = opened(case.request, "narrative")["narrative"]
    sign_in(client, alice)
    page = client.get(f"/staff/cases/{case.request.reference}/")
    assert page.status_code == 200 and narrative in page.content.decode()

    assert "1 session(s) ended" in lockdown()

    refused = client.get(f"/staff/cases/{case.request.reference}/")
    assert refused.status_code == 302
    assert refused["Location"].startswith("/staff/login/")
    assert narrative not in refused.content.decode()


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


def test_lifting_it_from_the_web_takes_a_second_admin(client, dave, alice):
    erin = make_staff("erin", "admin")
    lockdown()
    sign_in(client, dave)
    assert "A lockdown has been in force" in client.get("/staff/lockdown/").content.decode()

    client.post("/staff/lockdown/", {"action": "request"})
    client.post("/staff/lockdown/", {"action": "confirm"})  # dave cannot confirm himself
    assert "Another admin must confirm" in client.get("/staff/lockdown/").content.decode()
    still = english_client()
    assert "suspended" in enter_password(still, "alice").content.decode()

    other_admin = english_client()
    sign_in(other_admin, erin)
    assert "dave asked to lift" in other_admin.get("/staff/lockdown/").content.decode()
    other_admin.post("/staff/lockdown/", {"action": "confirm"})

    lifted = AuditEntry.objects.get(action="lockdown.lift")
    assert (lifted.actor, lifted.detail["asked_by"]) == ("erin", "dave")
    assert AuditEntry.objects.get(action="lockdown.lift_requested").actor == "dave"
    sign_in(still, alice)
    assert still.get("/staff/").status_code == 200


def test_one_stolen_admin_account_cannot_lift_it(client, dave):
    lockdown()
    sign_in(client, dave)

    for action in ("request", "confirm", "", "lift"):
        client.post("/staff/lockdown/", {"action": action, "confirm": "on"})

    assert "in force since" in lockdown("--status")
    assert not AuditEntry.objects.filter(action="lockdown.lift").exists()


def test_a_request_to_lift_expires_after_an_hour(client, dave):
    from accounts.models import Lockdown

    erin = make_staff("erin", "admin")
    lockdown()
    sign_in(client, dave)
    client.post("/staff/lockdown/", {"action": "request"})
    Lockdown.objects.update(lift_requested_at=timezone.now() - timedelta(minutes=61))

    other_admin = english_client()
    sign_in(other_admin, erin)
    other_admin.post("/staff/lockdown/", {"action": "confirm"})

    assert "in force since" in lockdown("--status")


def test_a_session_that_outlived_the_start_is_refused_at_its_next_request(client, alice):
    """Replays item 12: a sign-in that completed while the lockdown started kept
    its session (written after the delete). Its next request must be refused."""
    case = CaseFactory(request__narrative="read during the lockdown")
    sign_in(client, alice)
    key = client.session.session_key
    survivor = Session.objects.get(session_key=key)

    lockdown()
    Session.objects.create(
        session_key=key, session_data=survivor.session_data, expire_date=survivor.expire_date
    )

    response = client.get(f"/staff/cases/{case.request.reference}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    assert b"read during the lockdown" not in response.content
    assert not Session.objects.filter(session_key=key).exists()


def test_the_django_admin_checks_it_too(client):
    superuser = make_staff("root-like", "caseworker")
    superuser.user.is_staff = superuser.user.is_superuser = True
    superuser.user.save()
    sign_in(client, superuser)
    key = client.session.session_key
    survivor = Session.objects.get(session_key=key)

    lockdown()
    Session.objects.create(
        session_key=key, session_data=survivor.session_data, expire_date=survivor.expire_date
    )

    response = client.get("/admin/auth/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


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


RACERS = 8


@pytest.mark.django_db(transaction=True)
def test_sign_ins_racing_the_start_leave_no_session_behind(uses_postgres):
    """Replays item 12 with real concurrency: caseworkers complete their second
    step while the lockdown starts. Whatever the order, none may keep a session
    (SQLite serialises every write anyway, and its in-memory test database is
    not shared between threads: PostgreSQL only)."""
    import threading

    from django.db import connection

    if not uses_postgres:
        pytest.skip("needs PostgreSQL: concurrent connections to one database")
    case = CaseFactory(request__narrative="read during the lockdown")
    people = [make_staff(f"racer{n}", "caseworker") for n in range(RACERS)]
    clients = []
    for person in people:
        racer = english_client()
        enter_password(racer, person.username)
        clients.append((racer, totp_code(person.device)))
    barrier = threading.Barrier(RACERS + 1)

    def complete(racer: Client, code: str) -> None:
        try:
            barrier.wait()
            racer.post("/staff/verify/", {"code": code})
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    lockdown()
    for thread in threads:
        thread.join()

    survivors = [
        session for session in Session.objects.all() if session.get_decoded().get("_auth_user_id")
    ]
    assert survivors == []
    for racer, _code in clients:
        assert (
            b"read during the lockdown"
            not in racer.get(f"/staff/cases/{case.request.reference}/").content
        )
