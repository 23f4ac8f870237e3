"""
What the report pages show, prepared in Python: the dashboard's charts (one
layout for SVG and PNG) and its long tables, whose figures are rendered here
once rather than by a template tag per cell. Published figures only.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from cases.workflow import Outcome
from core import dates
from intake.vocabulary import Category, ServiceStatus
from reports import charts
from reports.months import current_month, parse_label
from reports.templatetags.report_figures import cells, figure, hours

CATEGORY_COLOURS = {
    Category.DESERTION: "#b3261e",
    Category.BORDER_CROSSING: "#a35f00",
    Category.CONSULTATION: "#1f6feb",
}
STATUS_ORDER = [
    ServiceStatus.CONTRACT_WARTIME,
    ServiceStatus.MOBILISED,
    ServiceStatus.CONTRACT_PREWAR,
    ServiceStatus.CONSCRIPT,
    ServiceStatus.VOLUNTEER,
    ServiceStatus.CIVILIAN,
    ServiceStatus.UNKNOWN,
]
CHARTS = ("categories", "service-status")


def category_rows(data) -> list[tuple[str, dict]]:
    """The chart's months with their published categories (all withheld when unpublished)."""
    rows = []
    for month in data.window:
        published = data.published(month)
        if month in data.by_report:
            counts = published.get("by_category") or dict.fromkeys(Category.values)
        else:  # no report: a month before the first request
            counts = dict.fromkeys(Category.values, 0)
        rows.append((capfirst(dates.month(month)), counts))
    return rows


def category_chart(data) -> charts.Drawing:
    rows = category_rows(data)
    series = [
        charts.Series(
            key=category,
            label=str(Category(category).label),
            colour=colour,
            values=[counts.get(category) for _month, counts in rows],
        )
        for category, colour in CATEGORY_COLOURS.items()
    ]
    title = _("Requests by category, by month received, over the last 24 months")
    return charts.stacked_bars_drawing(
        "categories", title, [month for month, _counts in rows], series
    )


def status_totals(data) -> list[tuple[str, int | None]]:
    """
    Each service status summed over the chart's months: withheld unless it is
    published in every one of them (the sum less the published months would
    give the withheld ones away).
    """
    totals: dict[str, int | None] = dict.fromkeys(STATUS_ORDER, 0)
    for month in data.window:
        if month not in data.by_report:
            continue
        published = data.published(month).get("by_service_status") or {}
        for status in STATUS_ORDER:
            count = published.get(status)
            totals[status] = (
                None if count is None or totals[status] is None else totals[status] + count
            )
    return [(str(ServiceStatus(status).label), totals[status]) for status in STATUS_ORDER]


def status_chart(data) -> charts.Drawing:
    return charts.horizontal_bars_drawing(
        "service-status",
        _(
            "Service status of potential deserters (desertion-related requests only) "
            "over the last 24 months"
        ),
        status_totals(data),
        "#6f42c1",
    )


def figure_rows(rows, columns) -> list[tuple]:
    """
    Table rows with their figures rendered once here: a template tag per cell
    costs more than the rest of the page on a few years of months.
    """
    return [
        (head, cells([figure(values.get(key) if values else None, path) for key, path in columns]))
        for head, values in rows
    ]


def cohort_rows(published: dict) -> list[tuple]:
    columns = [("received", "received")]
    columns += [(f"outcome_{slug}", f"by_outcome.{slug}") for slug in Outcome.values]
    columns += [("rejected", "rejected"), ("pending", "pending")]
    rows = []
    for row in published.get("cohort", []):
        if "as_of" not in row:
            # Stored before rows were taken at maturity: followed to the report's
            # own month, such a row differs from its neighbours' by single
            # requests. Shown again once the month is regenerated.
            continue
        flat = {**row, **{f"outcome_{slug}": n for slug, n in row["by_outcome"].items()}}
        shown = [figure(flat[key], f"cohort.{row['month']}.{path}") for key, path in columns]
        rows.append((capfirst(dates.month(parse_label(row["month"]))), cells(shown)))
    return rows


def stored_rows(data) -> list[tuple]:
    """Each stored month's row: its link, figures and date, rendered here (see _figure_rows)."""
    link, zone = reverse("reports:month", args=["0000-00"]), timezone.get_current_timezone()
    this_month = current_month()
    rows = []
    for report in data.stored:
        p, response = report.published, report.published.get("first_response") or {}
        month = str(report)  # YYYY-MM: nothing to escape
        head = format_html(
            '<a href="{}">{}</a>',
            link.replace("0000-00", month),
            capfirst(dates.month(report.month)),
        )
        if report.month >= this_month:
            # Outside the charts and totals; here with its own mark.
            head = format_html(
                '{} <span class="partial">{}</span>',
                head,
                _("partial: to %(day)s") % {"day": dates.day(timezone.localdate())},
            )
        generated = date_format(report.generated_at.astimezone(zone), "DATETIME_FORMAT")
        rows.append((report, head, generated, cells([
            figure(p.get("requests"), "requests"),
            figure(p.get("desertion_related"), "desertion_related"),
            figure(p.get("resolved"), "resolved"),
            hours(response.get("median_hours"), "first_response.median_hours"),
            hours(response.get("p90_hours"), "first_response.p90_hours"),
        ])))  # fmt: skip
    return rows


def download_caption(data, site_name: str) -> list[str]:
    """Period, generation date and source, printed on every downloaded chart."""
    return [
        _("Period: %(period)s, complete months only (the month under way is left out).")
        % {"period": dates.period(data.window[0], data.window[-1])},
        _("Generated %(day)s by %(site)s from its stored monthly reports; small figures withheld.")
        % {"day": dates.day(timezone.localdate()), "site": site_name},
    ]


def chart(name: str, data) -> charts.Drawing:
    """One of CHARTS, laid out from the dashboard's published figures."""
    return category_chart(data) if name == "categories" else status_chart(data)


def category_table(data) -> list[tuple]:
    """The category chart's figures as table rows."""
    return figure_rows(category_rows(data), [(c, f"by_category.{c}") for c in Category.values])
