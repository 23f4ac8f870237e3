"""What the dashboard reads: stored reports only, never the requests themselves."""

from dataclasses import dataclass, field
from datetime import date

from reports.models import MonthlyReport
from reports.months import current_month, label, shift

CHART_MONTHS = 24


@dataclass
class Dashboard:
    # The headline month: the last complete one when it is stored (a month in
    # progress would be compared, half-counted, with a whole month a year earlier).
    latest: MonthlyReport | None
    in_progress: MonthlyReport | None = None  # the current month so far, if stored
    window: list[date] = field(default_factory=list)  # the chart's months, oldest first
    by_month: dict[date, dict] = field(default_factory=dict)
    stored: list[MonthlyReport] = field(default_factory=list)  # newest first
    by_report: dict[date, MonthlyReport] = field(default_factory=dict)

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


def dashboard() -> Dashboard:
    """Every stored report, in one query (a few years of months is a few hundred kB)."""
    stored = list(MonthlyReport.objects.order_by("-month"))
    if not stored:
        return Dashboard(latest=None)
    this_month = current_month()
    complete = [report for report in stored if report.month < this_month]
    latest = complete[0] if complete else stored[0]
    in_progress = stored[0] if stored[0].month == this_month and latest is not stored[0] else None
    newest = stored[0].month
    return Dashboard(
        latest=latest,
        in_progress=in_progress,
        window=[shift(newest, -i) for i in range(CHART_MONTHS - 1, -1, -1)],
        by_month={report.month: report.data for report in stored},
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
