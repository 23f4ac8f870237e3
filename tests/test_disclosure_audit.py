"""
No count from 1 to K-1 can be worked out from everything the reports publish
together: every stored month's page and sentences, the dashboard, and exports
of several ranges, formats and K (tests/disclosure_audit.py, an attacker with
a linear-programming solver). And the audit does fire: on the cohort table as
it was published before (each row followed to each page's own month), it
finds the single requests that the pages give away by subtraction.
"""

import random
from datetime import date, timedelta

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from intake.models import HelpRequest
from reports.models import MonthlyReport
from reports.months import bounds, label, shift
from reports.publication import _cohort_row, history
from reports.services import store_reports
from tests.disclosure_audit import (
    Publication,
    audit,
    collect,
    export_rows,
    exposed_ranges,
    feasible_ranges,
    withheld_count,
)
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in
from tests.test_export_stats import CATEGORIES, CHANNELS, COLUMNS, OUTCOMES, STATUSES

LOCATIONS = ["home_country", "occupied_territory", "front_line", "abroad", "unknown"]
FIRST = date(2023, 1, 1)
K = 10


def at(month: date, hours: float):
    return bounds(month)[0] + timedelta(hours=hours)


def fill_months(first: date, count: int, seed: int) -> list[date]:
    """
    `count` months of 35 to 60 requests and growing, with small groups an
    attacker would want (phone and other channels, volunteers, detentions,
    returns to service), resolved over the following months or still open.
    """
    rng = random.Random(seed)
    months = [shift(first, i) for i in range(count)]
    now = timezone.now()
    for i, month in enumerate(months):
        start, end = bounds(month)
        hours = int((end - start).total_seconds() // 3600)
        for _ in range(rng.randint(35, 60) + i):
            received = start + timedelta(hours=rng.randrange(hours))
            request = {
                "request__received_at": received,
                "request__category": rng.choices(CATEGORIES, [45, 12, 43])[0],
                "request__channel": rng.choices(CHANNELS, [50, 30, 10, 5, 3, 2])[0],
                "request__service_status": rng.choices(STATUSES, [10, 30, 10, 35, 3, 7, 5])[0],
                "request__location": rng.choice(LOCATIONS),
                "request__legal_articles": rng.choice([[], ["337"], ["338"], ["337", "338"],
                                                       ["332"]]),
            }  # fmt: skip
            fate = rng.choices(["resolved", "rejected", "open", "new"], [70, 12, 12, 6])[0]
            resolved_at = received + timedelta(days=rng.expovariate(1 / 75))
            if fate == "resolved" and resolved_at < now:
                outcome = rng.choices(OUTCOMES, [25, 15, 30, 15, 8, 3, 2, 2])[0]
                CaseFactory(state="resolved", outcome=outcome, resolved_at=resolved_at, **request)
            elif fate == "rejected":
                closed = received + timedelta(days=rng.expovariate(1 / 10))
                CaseFactory(state="rejected", closed_at=closed, **request)
            else:
                CaseFactory(state="new" if fate == "new" else "in_progress", **request)
    return months


EXPORTS = [
    ("2023-01", "2024-12", None),  # every month
    ("2024-01", "2024-03", None),  # overlapping ranges...
    ("2024-01", "2024-02", None),  # ... whose difference would be March
    ("2023-06", "2024-05", None),
    ("2023-01", "2024-12", K + 5),  # a larger K
]


@pytest.fixture
def coordinator(client, db):
    sign_in(client, make_staff("carol", "coordinator"))
    return client


@pytest.mark.django_db
def test_nothing_small_can_be_worked_out_from_everything_published_over_24_months(coordinator):
    months = fill_months(FIRST, 24, seed=2024)
    store_reports(months)

    publication = collect(coordinator, K, EXPORTS)
    findings = audit(publication)

    assert withheld_count(publication) > 50  # the data tempts: many figures are withheld
    assert [str(f) for f in findings] == []


@pytest.mark.django_db
def test_overlapping_export_ranges_give_each_month_the_same_figures(coordinator):
    fill_months(date(2024, 1, 1), 3, seed=7)

    longer = {row["month"]: row for row in export_rows("json", "2024-01", "2024-03", None)}
    shorter = {row["month"]: row for row in export_rows("json", "2024-01", "2024-02", None)}

    assert {month: longer[month] for month in shorter} == shorter


def followed_to(received: date, until: date) -> dict:
    """A cohort row as it was published before: followed to the end of the page's month."""
    start, stop = bounds(received)
    end = bounds(until)[1]
    ended = Q(case__resolved_at__lt=end) & ~Q(case__outcome="")
    counts = HelpRequest.objects.filter(received_at__gte=start, received_at__lt=stop).aggregate(
        received=Count("id"),
        rejected=Count("id", filter=~ended & Q(case__state="rejected", case__closed_at__lt=end)),
        **{o: Count("id", filter=ended & Q(case__outcome=o)) for o in OUTCOMES},
    )
    by_outcome = {o: counts[o] for o in OUTCOMES}
    return {
        "month": label(received),
        "as_of": label(until),
        "received": counts["received"],
        "by_outcome": by_outcome,
        "rejected": counts["rejected"],
        "pending": counts["received"] - sum(by_outcome.values()) - counts["rejected"],
    }


def plant_per_page_cohorts(months: list[date]) -> None:
    """Every stored page given the old cohort table, each row protected on its own page."""
    past = history(months[-1])
    for report in MonthlyReport.objects.all():
        rows = [followed_to(shift(report.month, -back), report.month) for back in range(11, -1, -1)]
        report.data["cohort"] = rows
        report.published["cohort"] = [
            _cohort_row(row, past.is_withheld(row["month"], "requests"), K) for row in rows
        ]
        report.save(update_fields=["data", "published"])


@pytest.mark.django_db
def test_the_audit_finds_the_per_page_cohort_rows_of_before(coordinator):
    months = fill_months(FIRST, 14, seed=2024)
    store_reports(months)
    plant_per_page_cohorts(months)

    findings = [str(f) for f in audit(collect(coordinator, K, EXPORTS[:1]))]

    assert any("'cohort'" in finding or "'pending'" in finding for finding in findings), findings


def one_detained_in_march() -> list[date]:
    """60 requests in January 2024: 15 end detained in February, exactly one more in March."""
    january = date(2024, 1, 1)
    for n in range(60):
        if n < 16:
            ended = at(date(2024, 2, 1), 30) if n < 15 else at(date(2024, 3, 1), 30)
            CaseFactory(request__received_at=at(january, n), state="resolved",
                        outcome="detained", resolved_at=ended)  # fmt: skip
        else:
            CaseFactory(request__received_at=at(january, n), state="in_progress")
    return [shift(january, i) for i in range(14)]


@pytest.mark.django_db
def test_one_request_detained_in_march_cannot_be_told_from_the_pages(coordinator):
    store_reports(one_detained_in_march())

    findings = audit(collect(coordinator, K, [("2024-01", "2025-02", None)]))

    assert [str(f) for f in findings] == []
    january = [row for row in MonthlyReport.objects.get(month=date(2024, 12, 1)).published[
        "cohort"] if row["month"] == "2024-01"]  # fmt: skip
    assert january[0]["by_outcome"]["detained"] == 16


@pytest.mark.django_db
def test_the_audit_tells_the_one_request_detained_in_march_from_per_page_rows(coordinator):
    months = one_detained_in_march()
    store_reports(months)
    plant_per_page_cohorts(months)

    findings = [str(f) for f in audit(collect(coordinator, K, []))]

    assert (
        "('cohort', '2024-01', '2024-03', 'detained') - ('cohort', '2024-01', '2024-02', "
        "'detained') = 1" in findings
    ), findings


def four_channels_sharing(requests: int) -> Publication:
    """One month: every request a consultation, by web, Telegram, Signal or e-mail, all withheld."""
    publication = Publication(min_cell=K)
    shown = dict.fromkeys(COLUMNS, 0) | {"requests": requests, "category_consultation": requests}
    hidden = ["channel_web", "channel_telegram", "channel_signal", "channel_email"]
    truth = dict(zip(hidden, [3, 3, 3, requests - 9], strict=True))
    for column in COLUMNS:
        value = None if column in hidden else shown[column]
        publication.add(("cell", "2024-01", column), value, truth.get(column, value), "page")
    return publication


@pytest.mark.parametrize(("requests", "pinned"), [(12, 4), (13, 0)])
def test_the_quick_search_finds_exactly_the_ranges_the_exact_one_does(requests, pinned):
    # 12 over four withheld cells, each at least 1: none can be more than 9.
    publication = four_channels_sharing(requests)

    exact = feasible_ranges(publication)
    inside = {key for key, (low, high) in exact.items() if low > 1e-6 and high < K - 1e-6}

    assert len(exact) == withheld_count(publication) == 4
    assert len(inside) == pinned
    assert set(exposed_ranges(publication).exposed) == inside
