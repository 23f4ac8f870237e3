"""
What the dashboard reads (stored reports only, never the requests themselves),
and the one read of the requests that publication needs: every month's cells
of the export's table, for a range of months at once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, Q
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import TruncMonth

from cases.models import Case
from cases.workflow import ASSISTED_DESERTION, Outcome
from intake.models import HelpRequest
from intake.vocabulary import DESERTION_RELATED
from reports.columns import COLUMNS
from reports.models import MonthlyReport
from reports.months import bounds, current_month, label, month_of, shift

CHART_MONTHS = 24
# What the dashboard needs of every stored month: the rest (the cohort table,
# the breakdowns) is read for the headline month only.
SUMMARY = (
    "month",
    "requests",
    "desertion_related",
    "resolved",
    "by_category",
    "by_service_status",
    "record_desertion_month",
    "first_response",
)


@dataclass(frozen=True)
class StoredMonth:
    """A stored report as the list of months shows it: a few published figures."""

    month: date
    generated_at: datetime
    published: dict

    def __str__(self) -> str:
        return label(self.month)


@dataclass
class Dashboard:
    # The headline month: the last complete one when it is stored (a month in
    # progress would be compared, half-counted, with a whole month a year earlier).
    latest: MonthlyReport | None
    in_progress: StoredMonth | None = None  # the current month so far, if stored
    window: list[date] = field(default_factory=list)  # the chart's months, oldest first
    stored: list[StoredMonth] = field(default_factory=list)  # newest first
    by_report: dict[date, StoredMonth] = field(default_factory=dict)

    @property
    def record_months(self) -> list[str]:
        """
        Months whose desertion count beat every earlier month, newest first;
        only those whose desertion count is published.
        """
        return [label(r.month) for r in self.stored if r.published.get("record_desertion_month")]

    @property
    def unpublished(self) -> list[str]:
        """Stored months without published figures (stored before they existed)."""
        return [label(r.month) for r in self.stored if not r.published]

    def published(self, month: date) -> dict:
        report = self.by_report.get(month)
        return report.published if report else {}


def _summaries() -> list[StoredMonth]:
    """Every stored month with the few published figures of SUMMARY, in one query."""
    rows = (
        MonthlyReport.objects.order_by("-month")
        .annotate(**{f"summary_{key}": KeyTransform(key, "published") for key in SUMMARY})
        .values("month", "generated_at", *(f"summary_{key}" for key in SUMMARY))
    )
    return [
        StoredMonth(
            month=row["month"],
            generated_at=row["generated_at"],
            # A report stored before published figures existed has none of them.
            published={key: row[f"summary_{key}"] for key in SUMMARY}
            if row["summary_month"] is not None
            else {},
        )
        for row in rows
    ]


def dashboard() -> Dashboard:
    """
    Every stored month's summary in one query, and the headline month's whole
    published report in another; the raw figures are never read.
    """
    stored = _summaries()
    if not stored:
        return Dashboard(latest=None)
    this_month = current_month()
    complete = [report for report in stored if report.month < this_month]
    headline = complete[0] if complete else stored[0]
    latest = MonthlyReport.objects.defer("data").get(month=headline.month)
    in_progress = stored[0] if stored[0].month == this_month and headline is not stored[0] else None
    # The month under way would read as a collapse beside full months: charts
    # and their totals end at the last complete month (its own page has it).
    newest = min(stored[0].month, shift(this_month, -1))
    return Dashboard(
        latest=latest,
        in_progress=in_progress,
        window=[shift(newest, -i) for i in range(CHART_MONTHS - 1, -1, -1)],
        stored=stored,
        by_report={report.month: report for report in stored},
    )


def neighbours(month: date) -> tuple[date | None, date | None]:
    """The stored months just before and after `month`, for a month page's links."""
    before = (
        MonthlyReport.objects.filter(month__lt=month)
        .order_by("-month")
        .values_list("month", flat=True)
    )
    after = (
        MonthlyReport.objects.filter(month__gt=month)
        .order_by("month")
        .values_list("month", flat=True)
    )
    return before.first(), after.first()


def _months_between(first: date, last: date) -> list[date]:
    months = []
    while first <= last:
        months.append(first)
        first = shift(first, 1)
    return months


def _by_month(queryset, field: str, groups: tuple[str, ...], months: list[date]):
    """
    (month, group values, count) rows of `queryset` by the month of `field`.
    PostgreSQL truncates dates natively; SQLite would call Python for every
    row, so there each month is a filtered count over a date range instead.
    """
    if connection.vendor == "postgresql":
        rows = (
            queryset.annotate(month=TruncMonth(field))
            .values("month", *groups)
            .annotate(count=Count("id"))
            .order_by()
        )
        for row in rows:
            yield month_of(row["month"]), row, row["count"]
        return
    per_month = {
        f"m{i}": Count("id", filter=Q(**{f"{field}__gte": start, f"{field}__lt": end}))
        for i, (start, end) in enumerate(bounds(month) for month in months)
    }
    for row in queryset.values(*groups).annotate(**per_month).order_by():
        for i, month in enumerate(months):
            yield month, row, row[f"m{i}"]


def monthly_cells(first: date, last: date) -> dict[date, dict[str, int]]:
    """
    The export's cells of every month from `first` to `last`, in two grouped
    queries (the same counting rules as `services.monthly_report`, which
    computes one month at a time).
    """
    months = _months_between(first, last)
    cells = {month: dict.fromkeys(COLUMNS, 0) for month in months}
    if not months:
        return cells
    start, end = bounds(first)[0], bounds(last)[1]
    received = HelpRequest.objects.filter(received_at__gte=start, received_at__lt=end)
    groups = ("category", "channel", "service_status")
    for month, row, count in _by_month(received, "received_at", groups, months):
        figures = cells[month]
        figures["requests"] += count
        figures[f"category_{row['category']}"] += count
        figures[f"channel_{row['channel']}"] += count
        if row["category"] in DESERTION_RELATED:
            figures["desertion_related"] += count
            figures[f"service_status_{row['service_status']}"] += count
    resolved = Case.objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    for month, row, count in _by_month(resolved, "resolved_at", ("outcome",), months):
        figures = cells[month]
        figures["resolved"] += count
        if row["outcome"] in Outcome.values:
            figures[f"outcome_{row['outcome']}"] += count
        if row["outcome"] in ASSISTED_DESERTION:
            figures["assisted_desertions"] += count
    return cells
