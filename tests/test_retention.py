"""The retention purge: closed and rejected cases lose their content, reports do not change."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from cases.models import Case, CaseNote
from cases.services import add_note, move_case
from encryption.sealing import seal_item
from intake.messages import seal_message
from intake.models import HelpRequest, RequestMessage
from reports.months import parse_month
from reports.services import monthly_report
from tests.conftest import wait_for
from tests.content_keys import opened
from tests.csvdata import write_csv
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import sign_in
from tests.test_reports import generated_rows, months_between

pytestmark = pytest.mark.django_db

ENCRYPTED_REQUEST_COLUMNS = ("contact", "alias", "narrative", "precise_location", "unit")


def import_rows(tmp_path, rows) -> None:
    call_command(
        "import_requests", str(write_csv(tmp_path / "rows.csv", rows)), stdout=io.StringIO()
    )


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_expired", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def all_reports() -> dict[str, dict]:
    return {
        month: monthly_report(parse_month(month)) for month in months_between("2022-01", "2024-12")
    }


def raw_request_values(request_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(ENCRYPTED_REQUEST_COLUMNS)}, contact_fingerprint, receipt_hash "  # noqa: S608
            "FROM intake_helprequest WHERE id = %s",
            [request_id],
        )
        return cursor.fetchone()


def stored_quietly(item: CaseNote | RequestMessage, body: str) -> None:
    """A note or message sealed as the services seal it, but stored without
    touching its case's retention clock, as if written long ago."""
    if isinstance(item, RequestMessage):
        envelope = seal_message(item, body)
    else:
        envelope = seal_item(item, "body", body)
    envelope.row.save(force_insert=True)
    item.save(force_insert=True)


def finished_long_ago(days: int, state: str = "closed", **request) -> Case:
    """A case that reached `state` `days` ago and has seen nothing since."""
    then = timezone.now() - timedelta(days=days)
    resolution = {"outcome": "left_country", "resolved_at": then} if state != "rejected" else {}
    return CaseFactory(
        state=state,
        closed_at=then,
        last_activity_at=then,
        **resolution,
        **{f"request__{k}": v for k, v in request.items()},
    )


def test_closed_cases_lose_their_content_and_every_report_is_unchanged(tmp_path, settings):
    settings.RETENTION_DAYS = 30
    rows = generated_rows(seed=7, count=400)
    import_rows(tmp_path, rows)
    before = all_reports()
    finished = Case.objects.filter(state__in=["closed", "rejected"])
    open_before = Case.objects.exclude(state__in=["closed", "rejected"]).count()
    for case in finished[:20]:
        stored_quietly(CaseNote(case=case), "note that must go")
        stored_quietly(RequestMessage(request=case.request, sender="requester"), "bye")

    output = purge()

    expected = sum(row["state"] in ("closed", "rejected") for row in rows)
    assert f"Erased the content of {expected} case(s) (20 note(s), 20 message(s))" in output
    for help_request in HelpRequest.objects.filter(case__state__in=["closed", "rejected"]):
        assert (help_request.contact, help_request.narrative) == ("", "")
        assert raw_request_values(help_request.pk) == (None,) * 5 + ("", "")
    assert not CaseNote.objects.exists()
    assert not RequestMessage.objects.exists()
    assert all_reports() == before
    # Open cases keep everything.
    assert (
        HelpRequest.objects.exclude(case__state__in=["closed", "rejected"])
        .filter(contact__isnull=False)
        .count()
        == open_before
    )


def test_only_cases_finished_longer_ago_than_the_retention_period_go(settings):
    settings.RETENTION_DAYS = 30
    old = finished_long_ago(31)
    recent = finished_long_ago(29)
    rejected = finished_long_ago(40, state="rejected")
    resolved_not_closed = finished_long_ago(60, state="resolved", category="consultation")
    still_open = CaseFactory(state="in_progress")
    Case.objects.filter(pk=still_open.pk).update(
        last_activity_at=timezone.now() - timedelta(days=400)
    )

    purge()

    contacts = {
        case.pk: HelpRequest.objects.get(case=case).contact
        for case in (old, recent, rejected, resolved_not_closed, still_open)
    }
    assert contacts[old.pk] == contacts[rejected.pk] == ""
    assert all(contacts[case.pk] for case in (recent, resolved_not_closed, still_open))
    assert Case.objects.get(pk=old.pk).purged_at is not None


def test_dry_run_tells_what_would_go_and_changes_nothing(settings):
    settings.RETENTION_DAYS = 30
    case = finished_long_ago(45)
    entries = AuditEntry.objects.count()

    output = purge("--dry-run")

    assert "Would erase the content of 1 case(s)" in output
    assert case.request.reference in output
    assert HelpRequest.objects.get(pk=case.request.pk).contact == case.request.contact
    assert AuditEntry.objects.count() == entries


def test_a_message_from_the_requester_restarts_the_clock(client, settings):
    settings.RETENTION_DAYS = 30
    code = submit(client)
    case = Case.objects.get()
    for state in ("triaged", "in_progress", "resolved"):
        move_case(case, state, actor=None, outcome="left_country")
    move_case(case, "closed", actor=None)
    Case.objects.filter(pk=case.pk).update(last_activity_at=timezone.now() - timedelta(days=31))

    client.post("/status/message/", {"code": code, "body": "I had to move again, please help"})
    purge()

    assert opened(HelpRequest.objects.get(), "narrative")["narrative"]
    message = opened(RequestMessage.objects.get(), "body")
    assert message["body"] == "I had to move again, please help"


def test_a_note_also_restarts_the_clock(alice, settings):
    settings.RETENTION_DAYS = 30
    case = finished_long_ago(31)

    add_note(case, "they wrote again by phone", author=alice.user)
    purge()

    assert opened(CaseNote.objects.get(), "body")["body"] == "they wrote again by phone"


def test_after_the_purge_the_receipt_code_opens_nothing(client, settings):
    settings.RETENTION_DAYS = 30
    code = submit(client)
    case = Case.objects.get()
    move_case(case, "rejected", actor=None)
    Case.objects.filter(pk=case.pk).update(last_activity_at=timezone.now() - timedelta(days=31))

    purge()
    page = client.post("/status/", {"code": code}).content.decode()

    assert "Received" not in page
    assert HelpRequest.objects.get().contact_fingerprint == ""


def test_the_purge_is_audited_by_reference_and_count_only(settings):
    settings.RETENTION_DAYS = 30
    cases = [finished_long_ago(50) for _ in range(3)]
    written = [opened(case.request, "contact", "narrative") for case in cases]

    purge()

    per_case = AuditEntry.objects.filter(action="retention.purge_case")
    assert sorted(per_case.values_list("target", flat=True)) == sorted(
        case.request.reference for case in cases
    )
    summary = AuditEntry.objects.get(action="retention.purge")
    assert summary.detail["count"] == 3
    text = json.dumps(list(AuditEntry.objects.values("target", "detail")))
    for texts in written:
        assert texts["contact"] and texts["contact"] not in text
        assert texts["narrative"] and texts["narrative"] not in text
    call_command("verify_audit_log", stdout=io.StringIO())


def test_running_twice_erases_nothing_twice(settings):
    settings.RETENTION_DAYS = 30
    finished_long_ago(50)

    assert "Erased the content of 1 case(s)" in purge()
    assert "Erased the content of 0 case(s)" in purge()


def test_caseworkers_see_which_cases_go_within_seven_days(client, alice, settings):
    settings.RETENTION_DAYS = 30
    soon = finished_long_ago(26)
    later = finished_long_ago(10)
    sign_in(client, alice)

    queue = client.get("/staff/").content.decode()
    assert "1 finished case will have its content erased within 7 days" in queue
    assert soon.request.reference in queue
    # Below the work: after the queue's table, not between the heading and the cases.
    assert queue.index('class="purge-soon"') > queue.index('<form class="bulk"')
    assert later.request.reference not in queue
    case_page = client.get(f"/staff/cases/{soon.request.reference}/").content.decode()
    assert "will be erased on" in case_page


def test_the_queue_tells_cases_past_their_erase_date_from_those_due(client, alice, settings):
    """The demo never ran the purge and the queue said every one of 74,645 finished
    cases "will be erased within 7 days", each dated today."""
    settings.RETENTION_DAYS = 30
    overdue = [finished_long_ago(days) for days in (400, 45)]
    due = finished_long_ago(26)
    sign_in(client, alice)

    queue = client.get("/staff/").content.decode()

    assert (
        "2 finished cases are past their erase date: their content goes at the next "
        "nightly purge; 1 finished case will have its content erased within 7 days"
    ) in queue
    assert queue.count("overdue since") == 2 and queue.count("erased on") == 1
    assert f"{overdue[0].request.reference}</a> · Closed · overdue since" in queue
    assert f"{due.request.reference}</a> · Closed · erased on" in queue
    overdue_page = client.get(f"/staff/cases/{overdue[1].request.reference}/").content.decode()
    assert "was due to be erased on" in overdue_page
    due_page = client.get(f"/staff/cases/{due.request.reference}/").content.decode()
    assert "will be erased on" in due_page


def test_after_the_purge_nothing_is_overdue(client, alice, settings):
    settings.RETENTION_DAYS = 30
    finished_long_ago(45)
    purge()
    sign_in(client, alice)

    assert "past their erase date" not in client.get("/staff/").content.decode()
    assert "past its erase date" not in client.get("/staff/").content.decode()


def test_a_purged_case_says_so_on_its_page(client, alice, settings):
    settings.RETENTION_DAYS = 30
    case = finished_long_ago(31)
    narrative = opened(case.request, "narrative")["narrative"]
    purge()
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert "was erased on" in page
    assert narrative not in page


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_purges_through_celery(settings, celery_worker_or_eager):
    from cases.tasks import purge_expired_cases

    settings.RETENTION_DAYS = 30
    case = finished_long_ago(31)

    purge_expired_cases.delay()

    assert wait_for(lambda: Case.objects.get(pk=case.pk).purged_at is not None)
    assert "cases.purge_expired" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_the_seven_days_of_warning_are_counted_to_the_hour(client, alice, settings):
    """Erased in six and a half days: listed; in seven and a half: not yet."""
    settings.RETENTION_DAYS = 30
    inside = finished_long_ago(23.5)
    outside = finished_long_ago(22.5)
    sign_in(client, alice)

    queue = client.get("/staff/").content.decode()

    assert "1 finished case will have its content erased within 7 days" in queue
    assert inside.request.reference in queue
    assert outside.request.reference not in queue


def test_the_queue_warns_of_an_erasure_a_week_ahead(settings):
    from cases.retention import purged_soon

    now = timezone.now()
    erased_at = now - timedelta(days=settings.RETENTION_DAYS)
    within_the_week, after_it = CaseFactory(state="rejected"), CaseFactory(state="rejected")
    Case.objects.filter(pk=within_the_week.pk).update(
        last_activity_at=erased_at + timedelta(days=6.5)
    )
    Case.objects.filter(pk=after_it.pk).update(last_activity_at=erased_at + timedelta(days=7.5))

    shown = {row["request__reference"] for row in purged_soon(now=now).cases}

    assert shown == {within_the_week.request.reference}


def test_a_dry_run_in_small_batches_counts_each_case_once(settings):
    from cases.retention import purge_expired

    expired = [CaseFactory(state="rejected") for _ in range(3)]
    Case.objects.filter(pk__in=[c.pk for c in expired]).update(
        last_activity_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1)
    )

    result = purge_expired(dry_run=True, batch_size=2)

    assert result.purged == 3
    assert sorted(result.references) == sorted(c.request.reference for c in expired)
