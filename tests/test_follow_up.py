"""Following up: the follow-up day, the Due view, the waiting flag and the morning digest."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from cases import services
from cases.follow_up import send_digests
from cases.models import Case
from cases.tasks import send_follow_up_digests
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def days(n: int):
    return today() + timedelta(days=n)


def page(case, action: str = "") -> str:
    return f"/staff/cases/{case.request.reference}/{action}"


def due_case(follow_up_in: int | None, *, state="in_progress", assignee=None, **request) -> Case:
    case = CaseFactory(
        state=state, assigned_to=assignee, **{f"request__{k}": v for k, v in request.items()}
    )
    if follow_up_in is not None:
        Case.objects.filter(pk=case.pk).update(follow_up_on=days(follow_up_in))
    return case


def waiting_case(waited_days: int, *, assignee=None) -> Case:
    case = CaseFactory(state="waiting", assigned_to=assignee)
    Case.objects.filter(pk=case.pk).update(
        waiting_since=timezone.now() - timedelta(days=waited_days, hours=1)
    )
    return case


def references(response) -> list[str]:
    return [row["request__reference"] for row in response.context["page"]]


# --- the follow-up day on the case page ------------------------------------------


def test_a_caseworker_sets_a_follow_up_day_and_it_is_audited(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)

    response = client.post(page(case, "follow-up/"), {"follow_up_on": days(3).isoformat()})

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).follow_up_on == days(3)
    entry = AuditEntry.objects.get(action="case.follow_up")
    assert (entry.actor, entry.target, entry.detail) == (
        "alice", case.request.reference, {"follow_up_on": days(3).isoformat()},
    )  # fmt: skip
    shown = client.get(page(case)).content.decode()
    assert f'value="{days(3).isoformat()}"' in shown
    assert "No follow-up" in shown


def test_a_follow_up_day_is_cleared(client, alice):
    case = due_case(2)
    sign_in(client, alice)

    client.post(page(case, "follow-up/"), {"clear": "yes", "follow_up_on": ""})

    assert Case.objects.get(pk=case.pk).follow_up_on is None
    assert AuditEntry.objects.get(action="case.follow_up").detail == {"follow_up_on": ""}


@pytest.mark.parametrize(
    "value, refusal",
    [
        ("", "Choose a day to follow up on"),
        ("not a date", "Choose a day to follow up on"),
        ((timezone.localdate() - timedelta(days=1)).isoformat(), "Choose today or a later day"),
        ((timezone.localdate() + timedelta(days=400)).isoformat(), "within a year"),
    ],
)
def test_a_day_that_makes_no_sense_changes_nothing(client, alice, value, refusal):
    case = due_case(5)
    sign_in(client, alice)

    response = client.post(page(case, "follow-up/"), {"follow_up_on": value}, follow=True)

    assert refusal in response.content.decode()
    assert Case.objects.get(pk=case.pk).follow_up_on == days(5)
    assert not AuditEntry.objects.filter(action="case.follow_up").exists()


def test_a_finished_case_takes_no_follow_up(client, alice):
    case = CaseFactory(state="closed")
    sign_in(client, alice)

    response = client.post(
        page(case, "follow-up/"), {"follow_up_on": days(1).isoformat()}, follow=True
    )

    assert "needs no follow-up" in response.content.decode()
    assert Case.objects.get(pk=case.pk).follow_up_on is None


@pytest.mark.parametrize("to_state, outcome", [("resolved", "referred"), ("waiting", "")])
def test_a_move_that_ends_the_case_clears_the_follow_up(alice, to_state, outcome):
    case = due_case(4)

    services.move_case(case, to_state, actor=alice.user, outcome=outcome)

    kept = Case.objects.get(pk=case.pk).follow_up_on
    assert kept == (None if to_state == "resolved" else days(4))


def test_waiting_starts_with_the_move_and_ends_with_the_next(alice):
    case = CaseFactory(state="in_progress")

    services.move_case(case, "waiting", actor=alice.user)
    assert Case.objects.get(pk=case.pk).waiting_since is not None

    services.move_case(case, "in_progress", actor=alice.user)
    assert Case.objects.get(pk=case.pk).waiting_since is None


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_coordinators_and_admins_may_not_follow_up(client, who, request):
    case = CaseFactory(state="in_progress")
    sign_in(client, request.getfixturevalue(who))

    assert client.get("/staff/due/").status_code == 403
    assert (
        client.post(page(case, "follow-up/"), {"follow_up_on": days(1).isoformat()}).status_code
        == 403
    )
    assert client.post("/staff/due/digest/", {"email": "x@example.org"}).status_code == 403
    assert Case.objects.get(pk=case.pk).follow_up_on is None


# --- the Due view ------------------------------------------------------------------


def test_the_due_view_lists_overdue_first_then_today(client, alice):
    today_case = due_case(0, assignee=alice.user)
    long_overdue = due_case(-9, assignee=alice.user)
    overdue = due_case(-1, assignee=alice.user)
    due_case(1, assignee=alice.user)  # not yet
    due_case(None, assignee=alice.user)  # no follow-up
    sign_in(client, alice)

    response = client.get("/staff/due/")

    assert references(response) == [
        c.request.reference for c in (long_overdue, overdue, today_case)
    ]
    assert "overdue" in response.content.decode()


def test_a_case_waiting_too_long_is_due_from_the_day_it_started_waiting(client, alice, settings):
    settings.WAITING_FLAG_DAYS = 7
    waited_long = waiting_case(20, assignee=alice.user)
    waiting_case(3, assignee=alice.user)  # not yet
    overdue = due_case(-2, assignee=alice.user)
    sign_in(client, alice)

    response = client.get("/staff/due/")

    assert references(response) == [waited_long.request.reference, overdue.request.reference]
    assert "waiting for the requester for 2" in response.content.decode()  # "2 weeks, 6 days"


def test_the_due_view_shows_ones_own_cases_unless_asked_for_everyones(client, alice, bob):
    mine = due_case(0, assignee=alice.user)
    bobs = due_case(-1, assignee=bob.user)
    nobodys = due_case(-3)
    sign_in(client, alice)

    assert references(client.get("/staff/due/")) == [mine.request.reference]
    assert references(client.get("/staff/due/?scope=all")) == [
        c.request.reference for c in (nobodys, bobs, mine)
    ]


def test_finished_and_held_cases_are_never_due(client, alice):
    due_case(-1, state="rejected", assignee=alice.user)  # as imported
    held = due_case(-1, assignee=alice.user)
    Case.objects.filter(pk=held.pk).update(flood=services.current_flood())
    sign_in(client, alice)

    assert references(client.get("/staff/due/?scope=all")) == []


def test_an_empty_due_view_says_how_cases_get_there(client, alice):
    sign_in(client, alice)

    body = client.get("/staff/due/").content.decode()

    assert "Nothing of yours is due" in body
    assert "0 cases due" in body


def test_the_due_view_is_paginated(client, alice):
    for n in range(55):
        due_case(-1 - n % 5, assignee=alice.user)
    sign_in(client, alice)

    first = client.get("/staff/due/")
    second = client.get("/staff/due/?page=2")

    assert len(references(first)) == 50 and len(references(second)) == 5
    assert "55 cases due" in first.content.decode()


def test_the_due_view_runs_a_constant_number_of_queries(client, alice):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/staff/due/?scope=all").status_code == 200
        return len(captured)

    due_case(-1, assignee=alice.user)
    waiting_case(10)
    sign_in(client, alice)
    queries()  # the menu's counts, kept for a few seconds after
    few = queries()
    for n in range(40):
        due_case(-n % 7, assignee=alice.user)
        waiting_case(8 + n)

    assert queries() == few


def test_the_navigation_links_the_due_view(client, alice):
    sign_in(client, alice)

    assert 'href="/staff/due/"' in client.get("/staff/").content.decode()


# --- the waiting flag --------------------------------------------------------------


def test_a_case_waiting_too_long_is_flagged_on_the_queue_and_its_page(client, alice, settings):
    settings.WAITING_FLAG_DAYS = 7
    flagged = waiting_case(8)
    fresh = waiting_case(6)
    sign_in(client, alice)

    queue = client.get("/staff/?state=waiting").content.decode()
    rows = {ref: queue.split(ref, 2)[2].split("</tr>", 1)[0] for ref in (
        flagged.request.reference, fresh.request.reference,
    )}  # fmt: skip

    assert "waiting for the requester for 1" in rows[flagged.request.reference]  # "1 week, 1 day"
    assert "waiting for the requester" not in rows[fresh.request.reference]
    assert "waiting for the requester for" in client.get(page(flagged)).content.decode()
    assert "waiting for the requester for" not in client.get(page(fresh)).content.decode()


def test_the_flag_follows_the_setting(client, alice, settings):
    case = waiting_case(4)
    sign_in(client, alice)

    settings.WAITING_FLAG_DAYS = 7
    assert "waiting for the requester for" not in client.get(page(case)).content.decode()
    settings.WAITING_FLAG_DAYS = 3
    assert "waiting for the requester for" in client.get(page(case)).content.decode()


# --- the morning digest ------------------------------------------------------------


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STAFF_URL = "https://tropa.example.org/staff/"
    # The digest is in the site's language (Russian unless set otherwise).
    settings.LANGUAGE_CODE = "en"


def with_address(staff, address: str):
    staff.user.email = address
    staff.user.save(update_fields=["email"])
    return staff


def test_the_digest_has_counts_and_references_and_no_content(mailbox, alice, bob):
    with_address(alice, "alice@example.org")
    overdue = due_case(-2, assignee=alice.user, narrative="I hide at my aunt's", contact="@aunt")
    today_case = due_case(0, assignee=alice.user)
    waited = waiting_case(30, assignee=alice.user)
    bobs = due_case(-1, assignee=bob.user)  # bob has no address: no mail
    services.add_note(overdue, "Ask about the border", author=alice.user)

    assert send_follow_up_digests() == 1

    [digest] = mail.outbox
    assert digest.to == ["alice@example.org"]
    assert digest.subject == "3 cases to follow up"
    text = digest.body
    for line in (
        "Follow-ups overdue: 1",
        "Follow-ups due today: 1",
        "Waiting for the requester more than 7 days: 1",
        "https://tropa.example.org/staff/due/",
    ):
        assert line in text
    assert [c.request.reference for c in (waited, overdue, today_case)] == [
        line for line in text.splitlines() if line.startswith(overdue.request.reference[:3])
    ]
    for secret in ("I hide at my aunt's", "@aunt", "Ask about the border", bobs.request.reference):
        assert secret not in digest.subject + text
    assert AuditEntry.objects.get(action="follow_up.digest").detail == {"mails": 1}


def test_the_digest_is_in_the_sites_language(mailbox, alice, settings):
    settings.LANGUAGE_CODE = "ru"
    with_address(alice, "alice@example.org")
    due_case(0, assignee=alice.user)

    send_digests()

    assert mail.outbox[0].subject == "1 дело к проверке"
    assert "Проверки на сегодня: 1" in mail.outbox[0].body


def test_no_digest_for_a_caseworker_without_the_organisation_key(mailbox, alice, bob):
    """Revoked but still assigned: their due cases' references are not mailed
    to them (issue 21, item 1: no references without the key)."""
    with_address(bob, "bob@example.org")
    due_case(-1, assignee=bob.user)
    from encryption import services as key_services

    key_services.revoke_access(bob.user, actor=alice.user)

    assert send_digests() == 0
    assert mail.outbox == []


def test_no_mail_when_nothing_is_due(mailbox, alice):
    with_address(alice, "alice@example.org")
    due_case(1, assignee=alice.user)
    waiting_case(2, assignee=alice.user)

    assert send_digests() == 0
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="follow_up.digest").exists()


def test_no_mail_to_a_deactivated_caseworker_or_a_coordinator(mailbox, alice, carol):
    with_address(alice, "alice@example.org")
    with_address(carol, "carol@example.org")
    due_case(0, assignee=alice.user)
    due_case(0, assignee=carol.user)
    alice.user.is_active = False
    alice.user.save()

    assert send_digests() == 0


def test_a_long_digest_lists_fifty_and_counts_the_rest(mailbox, alice):
    with_address(alice, "alice@example.org")
    for _n in range(53):
        due_case(-1, assignee=alice.user)

    send_digests()

    assert "… and 3 more." in mail.outbox[0].body


def test_the_beat_schedule_sends_the_digest_every_morning():
    entry = django_settings.CELERY_BEAT_SCHEDULE["follow-up-digest"]

    assert entry["task"] == "cases.send_follow_up_digests"
    assert entry["schedule"].hour == {django_settings.FOLLOW_UP_DIGEST_HOUR}
    assert entry["schedule"].minute == {0}


def test_a_caseworker_gives_their_digest_address_and_it_is_audited_without_it(client, alice):
    sign_in(client, alice)

    response = client.post("/staff/due/digest/", {"email": "duty-7@example.org"}, follow=True)

    assert "every morning" in response.content.decode()
    alice.user.refresh_from_db()
    assert alice.user.email == "duty-7@example.org"
    entry = AuditEntry.objects.get(action="follow_up.digest_address")
    assert entry.detail == {"address_given": True}
    assert "duty-7" not in str(entry.detail) + entry.target
    assert 'value="duty-7@example.org"' in client.get("/staff/due/").content.decode()

    client.post("/staff/due/digest/", {"email": ""})
    alice.user.refresh_from_db()
    assert alice.user.email == ""


def test_a_bad_address_changes_nothing(client, alice):
    with_address(alice, "alice@example.org")
    sign_in(client, alice)

    response = client.post("/staff/due/digest/", {"email": "not an address"}, follow=True)

    assert "Enter a valid e-mail address" in response.content.decode()
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.org"


def test_the_due_view_is_in_russian(client, alice):
    sign_in(client, alice)
    client.cookies["django_language"] = "ru"

    body = client.get("/staff/due/").content.decode()

    assert "Утренняя сводка" in body


def test_an_imported_case_already_waiting_is_flagged_from_when_it_was_received(
    client, alice, settings, tmp_path
):
    from django.core.management import call_command

    from tests.csvdata import csv_row, write_csv

    settings.WAITING_FLAG_DAYS = 7
    write_csv(
        tmp_path / "history.csv",
        [
            csv_row(1, state="waiting", outcome="", resolved_at=""),
            csv_row(2, state="in_progress", outcome="", resolved_at=""),
        ],
    )
    call_command("import_requests", str(tmp_path / "history.csv"), verbosity=0)
    waiting = Case.objects.get(request__reference="HIST-000001")
    sign_in(client, alice)

    assert waiting.waiting_since == waiting.request.received_at
    assert Case.objects.get(request__reference="HIST-000002").waiting_since is None
    assert "waiting for the requester for" in client.get(page(waiting)).content.decode()


def test_a_requester_who_writes_back_is_no_longer_waited_for(client, alice, settings):
    from intake.services import post_requester_message

    settings.WAITING_FLAG_DAYS = 7
    case = waiting_case(10)
    sign_in(client, alice)
    assert "waiting for the requester for" in client.get(page(case)).content.decode()

    post_requester_message(case.request, "I am back in touch.")

    case.refresh_from_db()
    assert case.waiting_since is None and case.unread_message_at is not None
    assert "waiting for the requester for" not in client.get(page(case)).content.decode()


def test_a_reply_to_a_waiting_case_starts_the_wait_again(alice, settings):
    case = waiting_case(10)
    before = timezone.now()

    services.reply_to_requester(case, "Are you safe? Write when you can.", author=alice.user)

    case.refresh_from_db()
    assert case.state == "waiting" and case.waiting_since >= before
