"""
The columns of a month's published table, shared by the export, the
spreadsheet and the pages' publication: their codes (the command's public
interface, which stay as they are), their names in words, and how a monthly
report flattens into them. A module of its own so that the export, the
spreadsheet and the publication each import it, and not one another.
"""

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from cases.workflow import Outcome
from intake.vocabulary import Category, Channel, ServiceStatus

TOTALS = ("requests", "desertion_related", "resolved", "assisted_desertions")
BREAKDOWNS = (
    ("by_category", "category", Category.values),
    ("by_service_status", "service_status", ServiceStatus.values),
    ("by_channel", "channel", Channel.values),
    ("by_outcome", "outcome", Outcome.values),
)
COLUMNS = (
    *TOTALS,
    *(f"{prefix}_{slug}" for _key, prefix, slugs in BREAKDOWNS for slug in slugs),
)


def flatten(report: dict[str, Any]) -> dict[str, int]:
    """The exported cells of a monthly report, and nothing else of it."""
    figures = {total: report[total] for total in TOTALS}
    for key, prefix, slugs in BREAKDOWNS:
        figures.update({f"{prefix}_{slug}": report[key][slug] for slug in slugs})
    return figures


BREAKDOWN_TERMS = {
    # What each group of columns counts, in words: the service status columns
    # count desertion-related requests only (SPEC.md), and their name says so.
    "category": lambda: _("Requests by category"),
    "service_status": lambda: _("Desertion-related requests by service status"),
    "channel": lambda: _("Requests by channel"),
    "outcome": lambda: _("Resolved cases by outcome"),
}
VOCABULARIES = {
    "category": Category,
    "service_status": ServiceStatus,
    "channel": Channel,
    "outcome": Outcome,
}
TOTAL_TERMS = {
    "requests": lambda: _("Requests received"),
    "desertion_related": lambda: _("Desertion-related requests"),
    "resolved": lambda: _("Resolved cases (any outcome)"),
    "assisted_desertions": lambda: _("Helped to desert"),
}


def column_title(column: str) -> str:
    """A column's name in words, in the active language."""
    if column == "month":
        return _("Month")
    if column in TOTAL_TERMS:
        return TOTAL_TERMS[column]()
    for prefix, vocabulary in VOCABULARIES.items():
        if column.startswith(f"{prefix}_"):
            slug = column.removeprefix(f"{prefix}_")
            return f"{BREAKDOWN_TERMS[prefix]()}: {vocabulary(slug).label}"
    raise KeyError(column)


def header_row(headers: str) -> list[str]:
    if headers == "codes":
        return ["month", *COLUMNS]
    with translation.override(headers):
        return [column_title(column) for column in ("month", *COLUMNS)]
