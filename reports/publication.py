"""
A stored report as it may be shown and quoted: the same small-cell suppression
as the statistics export, applied to every figure of the pages.

`publish(report, history)` is a pure function of the report (from
`services.monthly_report`) and of which monthly totals the export withholds in
every month up to it (`history`, from two grouped queries). It returns the
report's own shape with withheld figures as None:

- the export's cells (totals, categories, service status, channels, outcomes)
  exactly as `exports.protect` publishes them;
- locations, the time-to-first-response counts and each row of the cohort
  table, each a set of parts adding up to a total, protected the same way
  (small parts withheld, then another part until the withheld ones are neither
  determined nor a small sum); the total counts as withheld where the export
  withholds it. A cohort row is published only as it stood when it matured
  (`services.COHORT_HORIZON`), so the dozen pages that show it show the same
  figures, withheld alike, and no two of them can be subtracted;
- legal articles overlap (a request may cite several), so only small ones,
  and a lone small one with the smallest other (withheld alone, a figure
  would read as small to anyone who knows the rules);
- anything computed from a withheld figure is withheld with it: the share
  abroad, the ratio to a year earlier, the record flag, the response times;
- the totals since the start only when the export publishes that total in
  every month up to this one: two published running totals differ by the
  months between them, so one withheld month among published ones would be
  worked out by subtraction.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from cases.workflow import Outcome
from intake.models import HelpRequest
from intake.vocabulary import Category, Channel, ServiceStatus
from reports.columns import flatten
from reports.exports import min_published_cell, protect
from reports.months import label, month_of, parse_label, shift
from reports.selectors import monthly_cells

# The monthly totals whose suppression later figures depend on.
TRACKED = ("requests", "desertion_related", "assisted_desertions", "category_desertion")


@dataclass(frozen=True)
class History:
    """Which tracked totals the export withholds, month by month, from the first one."""

    first: date | None
    withheld: dict[str, frozenset[str]]  # "YYYY-MM" -> withheld tracked totals

    def is_withheld(self, month: str, total: str) -> bool:
        return total in self.withheld.get(month, frozenset())

    def all_published(self, total: str, until: str) -> bool:
        return not any(total in hidden for month, hidden in self.withheld.items() if month <= until)


def history(month: date, min_cell: int | None = None) -> History:
    """The export's suppression of the tracked totals in every month up to `month`."""
    min_cell = min_published_cell() if min_cell is None else min_cell
    first_request = (
        HelpRequest.objects.order_by("received_at").values_list("received_at", flat=True).first()
    )
    if first_request is None:
        return History(first=None, withheld={})
    first = month_of(first_request)
    cells = monthly_cells(first, month)
    withheld = {}
    for when, figures in cells.items():
        published = protect(figures, min_cell)
        hidden = frozenset(total for total in TRACKED if published[total] is None)
        if hidden:
            withheld[label(when)] = hidden
    return History(first=first, withheld=withheld)


def protect_parts(
    total: int,
    parts: dict[str, int],
    min_cell: int,
    total_withheld: bool = False,
    *,
    total_shown_elsewhere: bool = False,
) -> tuple[int | None, dict[str, int | None]]:
    """
    One total and the parts that add up to it, as published: parts from 1 to
    K-1 withheld, then more parts (the smallest non-zero first; the total when
    none is left) until the withheld parts are not determined by the published
    figures and do not add up to a small sum. With the total withheld nothing
    about the withheld parts can be worked out, unless every part is published.

    When the total is published elsewhere anyway (the month's requests beside
    its first-response counts), hiding it here would protect nothing: every
    part is withheld instead, zeros included, so no part can be told.
    """
    hidden = {key for key, value in parts.items() if 0 < value < min_cell}
    total_hidden = total_withheld or 0 < total < min_cell

    def exposed() -> bool:
        if total_hidden:
            return not hidden
        if not hidden:
            return False
        # Each withheld part holds at least 1: in a sum S of n parts none can
        # be more than S - (n - 1), which must reach K.
        return len(hidden) < 2 or sum(parts[key] for key in hidden) < min_cell + len(hidden) - 1

    while exposed():
        open_parts = [key for key in parts if key not in hidden]
        # A zero protects almost nothing (zeros are published, so a withheld
        # part reads as at least 1): the last resort, when the total is hidden.
        pool = [key for key in open_parts if parts[key] > 0] or (open_parts if total_hidden else [])
        if pool:
            hidden.add(min(pool, key=lambda key: (parts[key], list(parts).index(key))))
        elif total_shown_elsewhere:
            hidden = set(parts)
            break
        elif not total_hidden:
            total_hidden = True
        else:
            break
    shown = {key: None if key in hidden else value for key, value in parts.items()}
    return (None if total_hidden else total), shown


def _first_response(report: dict, requests_withheld: bool, min_cell: int) -> dict[str, Any]:
    response = report["first_response"]
    parts = {key: response[key] for key in ("answered", "waiting", "unrecorded")}
    _total, shown = protect_parts(
        report["requests"],
        parts,
        min_cell,
        requests_withheld,
        total_shown_elsewhere=not requests_withheld,
    )
    enough = shown["answered"] is not None and shown["answered"] >= min_cell
    return {
        **shown,
        "median_hours": response["median_hours"] if enough else None,
        "p90_hours": response["p90_hours"] if enough else None,
    }


def _articles(counts: dict[str, int], min_cell: int) -> dict[str, int | None]:
    """
    Legal articles overlap (a request may cite several), so they are no parts
    of a total: small ones are withheld, and a lone small one takes the
    smallest other with it (a non-zero one first). A figure withheld alone
    would read as small to anyone who knows the rule.
    """
    hidden = {slug for slug, count in counts.items() if 0 < count < min_cell}
    others = [slug for slug in counts if slug not in hidden]
    if len(hidden) == 1 and others:
        hidden.add(min(others, key=lambda slug: (counts[slug] == 0, counts[slug])))
    return {slug: None if slug in hidden else count for slug, count in counts.items()}


def _cohort_row(row: dict, received_withheld: bool, min_cell: int) -> dict[str, Any]:
    parts = {f"outcome_{slug}": count for slug, count in row["by_outcome"].items()}
    parts.update(rejected=row["rejected"], pending=row["pending"])
    received, shown = protect_parts(row["received"], parts, min_cell, received_withheld)
    return {
        "month": row["month"],
        "as_of": row["as_of"],
        "received": received,
        "by_outcome": {slug: shown[f"outcome_{slug}"] for slug in row["by_outcome"]},
        "rejected": shown["rejected"],
        "pending": shown["pending"],
    }


def _unflatten(cells: dict[str, int | None]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        total: cells[total]
        for total in ("requests", "desertion_related", "resolved", "assisted_desertions")
    }
    for key, prefix, slugs in (
        ("by_category", "category", Category.values),
        ("by_service_status", "service_status", ServiceStatus.values),
        ("by_channel", "channel", Channel.values),
        ("by_outcome", "outcome", Outcome.values),
    ):
        shaped[key] = {slug: cells[f"{prefix}_{slug}"] for slug in slugs}
    return shaped


def publish(report: dict, past: History, min_cell: int | None = None) -> dict[str, Any]:
    """
    `report` with every figure the export would withhold, or that reveals one,
    as None; K is the smallest published count (MIN_PUBLISHED_CELL) unless given.
    """
    min_cell = min_published_cell() if min_cell is None else min_cell
    month = report["month"]
    cells = protect(flatten(report), min_cell)
    published = {"month": month, "min_cell": min_cell, **_unflatten(cells)}
    requests_withheld = cells["requests"] is None
    _total, published["by_location"] = protect_parts(
        report["requests"],
        report["by_location"],
        min_cell,
        requests_withheld,
        total_shown_elsewhere=not requests_withheld,
    )
    published["by_legal_article"] = _articles(report["by_legal_article"], min_cell)
    left, assisted = cells["outcome_left_country"], cells["assisted_desertions"]
    published["share_abroad"] = (
        report["share_abroad"] if left is not None and assisted is not None else None
    )
    desertion = cells["category_desertion"]
    last_year_month = label(shift(parse_label(month), -12))
    last_year = report["same_month_last_year"]
    last_year_shown = (
        None if past.is_withheld(last_year_month, "category_desertion") else last_year["desertion"]
    )
    if last_year_shown is not None and 0 < last_year_shown < min_cell:
        last_year_shown = None
    published["same_month_last_year"] = {
        "month": last_year_month,
        "desertion": last_year_shown,
        "ratio": last_year["ratio"] if desertion is not None and last_year_shown else None,
    }
    published["record_desertion_month"] = (
        report["record_desertion_month"] if desertion is not None else None
    )
    published["cumulative"] = {
        "since": label(past.first) if past.first and label(past.first) < month else month,
        **{
            total: value if cells[total] is not None and past.all_published(total, month) else None
            for total, value in report["cumulative"].items()
        },
    }
    published["cohort"] = [
        _cohort_row(row, past.is_withheld(row["month"], "requests"), min_cell)
        for row in report["cohort"]
    ]
    published["first_response"] = _first_response(report, requests_withheld, min_cell)
    return published


def withheld_paths(published: Any, prefix: str = "") -> list[str]:
    """Every withheld figure of a published report, as dotted paths (for templates and tests)."""
    if isinstance(published, dict):
        return [
            path
            for key, value in published.items()
            for path in withheld_paths(value, f"{prefix}{key}.")
        ]
    if isinstance(published, list):
        return [
            path
            for i, value in enumerate(published)
            for path in withheld_paths(value, f"{prefix}{i}.")
        ]
    return [prefix.rstrip(".")] if published is None else []
