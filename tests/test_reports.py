"""
The monthly report against an independent computation from the CSV itself.

The reference below reads SPEC.md's counting rules and applies them to the rows
of a generated CSV, in plain Python; the report comes from the database after
`import_requests`. They must agree key by key, every month.
"""

import io
import json
import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reports.models import MonthlyReport
from reports.months import BadMonth, label, parse_month, shift
from reports.services import monthly_report, store_report, store_reports
from tests.csvdata import write_csv
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db

CATEGORIES = ["desertion", "border_crossing", "consultation"]
STATUSES = [
    "conscript",
    "mobilised",
    "contract_prewar",
    "contract_wartime",
    "volunteer",
    "civilian",
    "unknown",
]
CHANNELS = ["web", "telegram", "signal", "email", "phone", "other"]
OUTCOMES = ["left_country", "hiding_in_country", "consultation_given", "referred",
            "lost_contact", "returned_to_service", "detained", "declined"]  # fmt: skip
ARTICLES = ["332", "337", "338"]
LOCATIONS = ["home_country", "occupied_territory", "front_line", "abroad", "unknown"]


def months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def generated_rows(seed: int, count: int = 600) -> list[dict]:
    rng = random.Random(seed)
    months = months_between("2022-03", "2024-08")
    rows = []
    for n in range(count):
        month = rng.choice(months)
        day = rng.randint(1, 28)
        received = f"{month}-{day:02d}" + rng.choice(
            ["", f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00", "T12:00:00Z"]
        )
        state = rng.choice(
            ["new", "triaged", "in_progress", "waiting", "resolved", "closed", "closed", "rejected"]
        )
        outcome = resolved = ""
        if state in ("resolved", "closed"):
            outcome = rng.choice(OUTCOMES)
            later = months[min(len(months) - 1, months.index(month) + rng.randint(0, 3))]
            resolved = f"{later}-{max(day, rng.randint(1, 28)):02d}"
        rows.append({
            "reference": f"HELD-{seed}-{n:05d}",
            "received_at": received,
            "channel": rng.choice(CHANNELS),
            # Desertion grows over time so that record months appear.
            "category": rng.choices(CATEGORIES, weights=[1 + months.index(month) // 4, 1, 3])[0],
            "service_status": rng.choice(STATUSES),
            "location": rng.choice(LOCATIONS),
            "urgency": rng.choice(["low", "normal", "high", "critical"]),
            "legal_articles": ";".join(sorted(rng.sample(ARTICLES, rng.randint(0, 3)))),
            "state": state,
            "outcome": outcome,
            "resolved_at": resolved,
            "contact": f"@held_{n}",
            "narrative": "held-out test row",
        })  # fmt: skip
    return rows


def reference(rows: list[dict], month: str) -> dict:
    """SPEC.md's counting rules, straight from the CSV rows."""
    received = [r for r in rows if r["received_at"][:7] == month]
    related = [r for r in received if r["category"] in ("desertion", "border_crossing")]
    resolved = [r for r in rows if r["resolved_at"][:7] == month]
    by_outcome = {o: sum(r["outcome"] == o for r in resolved) for o in OUTCOMES}
    assisted = by_outcome["left_country"] + by_outcome["hiding_in_country"]
    desertion = Counter(r["received_at"][:7] for r in rows if r["category"] == "desertion")
    last_year = f"{int(month[:4]) - 1}-{month[5:]}"
    up_to = [r for r in rows if r["received_at"][:7] <= month]
    return {
        "month": month,
        "requests": len(received),
        "by_category": {c: sum(r["category"] == c for r in received) for c in CATEGORIES},
        "desertion_related": len(related),
        "by_service_status": {s: sum(r["service_status"] == s for r in related) for s in STATUSES},
        "by_channel": {c: sum(r["channel"] == c for r in received) for c in CHANNELS},
        "by_legal_article": {
            a: sum(a in r["legal_articles"].split(";") for r in received) for a in ARTICLES
        },
        "resolved": len(resolved),
        "by_outcome": by_outcome,
        "assisted_desertions": assisted,
        "share_abroad": by_outcome["left_country"] / assisted if assisted else None,
        "same_month_last_year": {
            "desertion": desertion[last_year],
            "ratio": round(desertion[month] / desertion[last_year], 2)
            if desertion[last_year]
            else None,
        },
        "cumulative": {
            "requests": len(up_to),
            "desertion_related": sum(
                r["category"] in ("desertion", "border_crossing") for r in up_to
            ),
            "assisted_desertions": sum(
                r["outcome"] in ("left_country", "hiding_in_country")
                for r in rows
                if r["resolved_at"] and r["resolved_at"][:7] <= month
            ),
        },
        "record_desertion_month": desertion[month]
        > max((count for when, count in desertion.items() if when < month), default=0),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_month_matches_an_independent_count_from_the_csv(tmp_path, seed):
    rows = generated_rows(seed)
    call_command(
        "import_requests", str(write_csv(tmp_path / "held.csv", rows)), stdout=io.StringIO()
    )

    for month in months_between("2022-01", "2024-12"):
        out = io.StringIO()
        call_command("monthly_report", month, "--json", stdout=out)
        report = json.loads(out.getvalue())
        expected = reference(rows, month)
        for key, value in expected.items():
            assert report[key] == value, (month, key)


def test_the_report_is_a_handful_of_queries_whatever_the_size(
    tmp_path, django_assert_max_num_queries
):
    call_command(
        "import_requests",
        str(write_csv(tmp_path / "a.csv", generated_rows(7, 800))),
        stdout=io.StringIO(),
    )

    with django_assert_max_num_queries(5):
        monthly_report(date(2024, 1, 1))


def test_storing_many_months_at_once_stores_what_each_month_alone_computes(tmp_path):
    rows = generated_rows(4)
    call_command("import_requests", str(write_csv(tmp_path / "a.csv", rows)), stdout=io.StringIO())
    months = [date(2023, m, 1) for m in range(1, 13)]

    stored = store_reports(months)

    assert [report.data for report in stored] == [monthly_report(month) for month in months]
    for month in months:
        expected = reference(rows, f"{month:%Y-%m}")
        assert {key: stored[month.month - 1].data[key] for key in expected} == expected


def test_every_slug_is_present_with_zero_in_an_empty_month():
    report = monthly_report(date(2020, 5, 1))

    assert report["by_category"] == dict.fromkeys(CATEGORIES, 0)
    assert report["by_service_status"] == dict.fromkeys(STATUSES, 0)
    assert report["by_channel"] == dict.fromkeys(CHANNELS, 0)
    assert report["by_legal_article"] == dict.fromkeys(ARTICLES, 0)
    assert report["by_outcome"] == dict.fromkeys(OUTCOMES, 0)
    assert report["share_abroad"] is None
    assert report["same_month_last_year"] == {"desertion": 0, "ratio": None}
    assert report["record_desertion_month"] is False


def test_json_is_exactly_one_object(tmp_path):
    out = io.StringIO()
    call_command("monthly_report", "2024-01", "--json", stdout=out)

    assert isinstance(json.loads(out.getvalue()), dict)
    assert out.getvalue().count("\n") <= 1


def test_without_json_it_prints_a_readable_table():
    out = io.StringIO()
    call_command("monthly_report", "2024-01", stdout=out)

    assert "Monthly report 2024-01" in out.getvalue()
    assert "contract_wartime" in out.getvalue()


@pytest.mark.parametrize(("month", "message"), [
    ("2024-13", "not a month"), ("24-01", "not a month"), ("January", "not a month"),
    ("2999-01", "in the future"),
])  # fmt: skip
def test_a_malformed_or_future_month_is_a_clear_error(month, message):
    with pytest.raises(CommandError, match=message):
        call_command("monthly_report", month)


def test_store_keeps_one_report_per_month_and_renews_it():
    call_command("monthly_report", "2024-01", "--store", stdout=io.StringIO())
    first = MonthlyReport.objects.get().generated_at
    call_command("monthly_report", "2024-01", "--store", stdout=io.StringIO())

    assert MonthlyReport.objects.count() == 1
    assert MonthlyReport.objects.get().generated_at > first


def test_reopening_a_case_takes_its_resolution_out_of_the_figures():
    from cases.services import move_case
    from tests.factories import CaseFactory

    case = CaseFactory(state="in_progress")
    move_case(case, "resolved", actor=None, outcome="left_country")
    month = case.resolved_at.date().replace(day=1)
    assert store_report(month).data["assisted_desertions"] == 1

    move_case(case, "in_progress", actor=None)
    assert monthly_report(month)["assisted_desertions"] == 0


def test_months_parse_strictly():
    assert parse_month("2024-01") == date(2024, 1, 1)


@pytest.mark.parametrize("text", ["0000-01", "2024-00", "2024-13", "24-01"])
def test_a_month_that_does_not_exist_is_refused_as_a_bad_month(text):
    with pytest.raises(BadMonth):
        parse_month(text)


def test_the_month_page_of_year_zero_is_a_404_not_a_500(client, carol):
    sign_in(client, carol)

    assert client.get("/staff/reports/0000-01/").status_code == 404


# The cohort table and the time to first response.


def test_a_cohort_row_is_published_once_mature_with_the_same_figures_on_every_page():
    from cases.services import move_case
    from tests.factories import CaseFactory

    january = timezone.make_aware(datetime(2024, 1, 10, 9))
    helped = CaseFactory(request__received_at=january, state="in_progress")
    CaseFactory(request__received_at=january, state="rejected", closed_at=january)
    late = CaseFactory(request__received_at=january, state="in_progress")
    for case, outcome, when in (
        (helped, "left_country", datetime(2024, 3, 5, 12)),
        (late, "detained", datetime(2025, 2, 5, 12)),  # after the row's twelve months
    ):
        move_case(case, "resolved", actor=None, outcome=outcome)
        case.resolved_at = timezone.make_aware(when)
        case.save(update_fields=["resolved_at"])

    def january_row(month):
        rows = {row["month"]: row for row in monthly_report(month)["cohort"]}
        return rows.get("2024-01")

    # Not shown while its twelve months run: two pages would differ by single requests.
    assert january_row(date(2024, 3, 1)) is None
    assert january_row(date(2024, 11, 1)) is None
    december, june = january_row(date(2024, 12, 1)), january_row(date(2025, 6, 1))
    assert december == june
    assert december["as_of"] == "2024-12"
    assert (december["received"], december["rejected"], december["pending"]) == (3, 1, 1)
    assert december["by_outcome"]["left_country"] == 1
    assert december["by_outcome"]["detained"] == 0
    rows = monthly_report(date(2024, 12, 1))["cohort"]
    assert [row["month"] for row in rows] == [f"2023-{m:02d}" for m in range(2, 13)] + ["2024-01"]


@pytest.mark.django_db
def test_a_cohort_row_keeps_one_version_when_the_history_changes_between_pages():
    from cases.models import Case
    from tests.factories import CaseFactory

    january, march = date(2024, 1, 1), timezone.make_aware(datetime(2024, 3, 5, 12))
    detained = [
        CaseFactory(request__received_at=timezone.make_aware(datetime(2024, 1, 10, 9)),
                    state="resolved", outcome="detained", resolved_at=march)
        for _ in range(12)
    ]  # fmt: skip
    for _ in range(30):
        CaseFactory(request__received_at=timezone.make_aware(datetime(2024, 1, 11, 9)))
    store_reports([shift(january, i) for i in range(14)])  # 2024-01 to 2025-02

    def january_rows():
        versions = set()
        for report in MonthlyReport.objects.all():
            for tree in (report.data, report.published):
                row = next((r for r in tree["cohort"] if r["month"] == "2024-01"), None)
                if row is not None:
                    versions.add((tree is report.data, json.dumps(row, sort_keys=True)))
        return {json.loads(row)["by_outcome"]["detained"] for _data, row in versions}, versions

    # A case reopened after the row matured; a later page regenerated alone.
    Case.objects.filter(pk=detained[0].pk).update(state="in_progress", outcome="", resolved_at=None)
    store_report(date(2025, 2, 1))
    counts, versions = january_rows()
    assert counts == {12}
    assert len(versions) == 2  # one row in the figures, one as published: on every page alike

    # The row's own page regenerated: the later pages follow it.
    store_report(date(2024, 12, 1))
    counts, versions = january_rows()
    assert counts == {11}
    assert len(versions) == 2


@pytest.mark.django_db
def test_the_row_maturing_with_the_month_under_way_is_left_out():
    from reports.months import current_month

    this_month = current_month()
    rows = [row["month"] for row in monthly_report(this_month)["cohort"]]

    assert label(shift(this_month, -11)) not in rows
    assert rows[-1] == label(shift(this_month, -12))
    assert len(rows) == 11


def hours_after(moment, hours):
    return moment + timedelta(hours=hours)


def test_first_response_is_the_first_reply_or_move_out_of_new_never_below_zero():
    from cases.services import move_case, reply_to_requester
    from intake.models import RequestMessage
    from intake.services import post_requester_message
    from tests.factories import CaseFactory, UserFactory

    worker = UserFactory()
    received = timezone.make_aware(datetime(2024, 1, 10, 9))
    times = []
    for hours in (1, 2, 3, 4, 5, 6, 7, 8, 9, 30):
        case = CaseFactory(request__received_at=received)
        move_case(case, "triaged", actor=worker)
        case.events.filter(to_state="triaged").update(at=hours_after(received, hours))
        times.append(hours)
    replied = CaseFactory(request__received_at=received)
    reply_to_requester(replied, "Здравствуйте", author=worker)
    # The reply was sent within the hour: stored to the hour, it may read as
    # earlier than the request itself.
    RequestMessage.objects.filter(request=replied.request).update(
        sent_at=received - timedelta(minutes=40)
    )
    requester_wrote = CaseFactory(request__received_at=received)
    written = post_requester_message(requester_wrote.request, "ещё вопрос")
    RequestMessage.objects.filter(pk=written.pk).update(sent_at=hours_after(received, 1))
    CaseFactory(request__received_at=received, state="closed")  # imported history

    response = monthly_report(date(2024, 1, 1))["first_response"]

    assert response["answered"] == 11
    assert response["waiting"] == 1  # only the requester wrote
    assert response["unrecorded"] == 1
    # 0 (the reply), 1..9, 30: the median is 5, nine in ten within 9 hours.
    assert response["median_hours"] == 5.0
    assert response["p90_hours"] == 9.0


def test_first_response_reads_no_message_body(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        monthly_report(date(2024, 1, 1))

    assert not any('"body"' in query["sql"] for query in captured.captured_queries)
