"""
Anonymised monthly statistics for publication, with small-cell suppression.

A month is a flat table of counts (the CSV columns): four totals and one cell
per slug of category, service status, channel and outcome. Within a month the
counts satisfy six identities, each a total and the members that add up to it
(IDENTITIES). Anyone holding a published table knows them too.

The rules, applied to each month on its own:

1. Primary suppression: a count from 1 to K-1 is withheld. Zero is published,
   so a reader knows every withheld cell holds at least 1.
2. Secondary suppression, repeated until nothing changes. A withheld cell is
   exposed when
   - the published figures determine it: its unit vector lies in the row space
     of the identities restricted to the withheld cells, decided exactly with
     fractions; or
   - adding and subtracting identities yields a plain sum of withheld cells
     too small for each of them to reach K: each holds at least 1 (zeros are
     published), so a sum S of n cells keeps every one at most S - (n - 1),
     which must be K or more (a total of 12 with 10 on the web reveals "2
     people by Telegram or Signal", and so 1 each; 12 over four cells, 1 to 9
     each).
   The exposure is covered by withholding one more cell from the identities
   involved: a non-zero one leaving the fewest exposures, a member before a
   total, the smallest; a zero protects almost nothing and is the last resort.
3. Every withheld cell is shown the same way, `null` in JSON, `<K` in CSV, an
   empty cell (marked "withheld" in the status sheet) in XLSX: marking the
   complementary cells apart would tell a reader they hold K or more, which
   can pin a small cell again (11 = 1 + 10).

Only what a monthly total needs is exported: no case-level rows, free text,
dates finer than a month, cumulative figures or shares. Figures are counted
as `reports.services.monthly_report` counts them (for a range of months at
once, `reports.selectors.monthly_cells`); every export is audited without them.

The column codes (`service_status_conscript`, ...) are the command's public
interface and stay as they are; the spreadsheet, and CSV with `headers` "en"
or "ru", name each column in words, and say that the service status columns
count desertion-related requests only.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import product
from typing import Any

from django.conf import settings

from audit.services import record
from cases.workflow import ASSISTED_DESERTION, Outcome
from intake.vocabulary import DESERTION_RELATED, Category, Channel, ServiceStatus
from reports.columns import BREAKDOWNS, COLUMNS, TOTALS, header_row
from reports.months import current_month, label
from reports.selectors import monthly_cells
from reports.spreadsheet import as_xlsx

# The UK ICO's Anonymisation code of practice treats counts of 1 to 5 as risky;
# OCHA's Centre for Humanitarian Data explains small-cell suppression for
# humanitarian data (Guidance Note 1, Statistical Disclosure Control, 2019).
# The people counted here face prosecution if identified, so we double ICO's
# margin: every count below 10 is withheld, unless MIN_PUBLISHED_CELL says more.
DEFAULT_MIN_CELL = 10


def min_published_cell() -> int:
    """The smallest count anything publishes (MIN_PUBLISHED_CELL): pages use it, exports no less."""
    return settings.MIN_PUBLISHED_CELL


FORMATS = ("csv", "json", "xlsx")
# Column headers: the codes of SPEC.md, or words in English or Russian.
HEADERS = ("codes", "en", "ru")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cells(prefix: str, slugs) -> tuple[str, ...]:
    return tuple(f"{prefix}_{slug}" for slug in slugs)


# (total, members): total = sum(members), within one month.
IDENTITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("requests", _cells("category", Category.values)),
    ("requests", _cells("channel", Channel.values)),
    ("desertion_related", _cells("service_status", ServiceStatus.values)),
    ("desertion_related", _cells("category", DESERTION_RELATED)),
    ("resolved", _cells("outcome", Outcome.values)),
    ("assisted_desertions", _cells("outcome", ASSISTED_DESERTION)),
)
# Each identity as coefficients: total - members = 0.
ROWS = tuple({total: 1, **dict.fromkeys(members, -1)} for total, members in IDENTITIES)


def _combinations() -> list[tuple[tuple[int, ...], dict[str, int]]]:
    """
    Every sum and difference of identities (weights -1, 0, 1) as coefficients,
    one of each pair w and -w, which reveal the same thing.
    """
    combined = []
    for weights in product((-1, 0, 1), repeat=len(ROWS)):
        if next((w for w in weights if w), 1) < 0:
            continue
        vector: dict[str, int] = {}
        for weight, row in zip(weights, ROWS, strict=True):
            for cell, coefficient in row.items():
                vector[cell] = vector.get(cell, 0) + weight * coefficient
        vector = {cell: value for cell, value in vector.items() if value}
        if vector:
            combined.append((weights, vector))
    # Single identities first, so the exposure reported is the simplest one.
    return sorted(combined, key=lambda pair: sum(map(abs, pair[0])))


COMBINATIONS = _combinations()


def primary_suppression(figures: dict[str, int], min_cell: int) -> set[str]:
    return {cell for cell in COLUMNS if 0 < figures[cell] < min_cell}


def determined_cells(suppressed: set[str]) -> list[str]:
    """Withheld cells the published ones determine, in column order."""
    unknowns = [cell for cell in COLUMNS if cell in suppressed]
    matrix = [[Fraction(row.get(cell, 0)) for cell in unknowns] for row in ROWS]
    pivot_row = 0
    for column in range(len(unknowns)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][column]), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][column]
        pivot = matrix[pivot_row] = [value / lead for value in matrix[pivot_row]]
        for r, other in enumerate(matrix):
            if r != pivot_row and other[column]:
                factor = other[column]
                matrix[r] = [a - factor * b for a, b in zip(other, pivot, strict=True)]
        pivot_row += 1
    # In reduced row echelon form, e_i is in the row space iff some row equals e_i.
    return [
        unknowns[row.index(1)]
        for row in matrix[:pivot_row]
        if sum(1 for value in row if value) == 1
    ]


def small_derived_sum(
    figures: dict[str, int], suppressed: set[str], min_cell: int
) -> tuple[tuple[int, ...], dict[str, int]] | None:
    """The first combination of identities that reveals a small sum of withheld cells."""
    idle = [not suppressed & row.keys() for row in ROWS]
    for weights, vector in COMBINATIONS:
        if any(weight and unused for weight, unused in zip(weights, idle, strict=True)):
            continue  # an identity without withheld cells adds nothing to what is known
        hidden = {cell: c for cell, c in vector.items() if cell in suppressed}
        signs = set(hidden.values())
        if len(hidden) < 2 or signs not in ({1}, {-1}):
            continue
        published = sum(c * figures[cell] for cell, c in vector.items() if cell not in suppressed)
        total = -signs.pop() * published
        # Each withheld cell holds at least 1, so in a sum S of n cells the
        # largest any one can be is S - (n - 1): below K, every one of them is
        # known to be small (12 over four cells: each is 1 to 9).
        if 0 < total < min_cell + len(hidden) - 1:
            return weights, vector
    return None


def _exposures(figures: dict[str, int], suppressed: set[str], min_cell: int) -> int:
    determined = len(determined_cells(suppressed))
    return determined + (small_derived_sum(figures, suppressed, min_cell) is not None)


def _complement(
    figures: dict[str, int], suppressed: set[str], min_cell: int, identities, usable
) -> str | None:
    """
    The cell to withhold next from `identities`: a non-zero one before a zero
    (which protects almost nothing), then the one leaving the fewest exposures,
    a member before a total, the smallest. Any other published cell of the
    month is the last resort, never needed on real data.
    """
    members = {m for _total, ms in identities for m in ms if usable(m)} - suppressed
    totals = {total for total, _ms in identities if usable(total)} - suppressed
    candidates = (members | totals) or set(COLUMNS) - suppressed
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda cell: (
            figures[cell] == 0,
            _exposures(figures, suppressed | {cell}, min_cell),
            cell in totals,
            figures[cell],
            COLUMNS.index(cell),
        ),
    )


def _next_complement(figures: dict[str, int], suppressed: set[str], min_cell: int) -> str | None:
    determined = set(determined_cells(suppressed))
    if determined:
        groups = [group for group in IDENTITIES if determined & {group[0], *group[1]}]
        return _complement(figures, suppressed, min_cell, groups, usable=lambda cell: True)
    exposed = small_derived_sum(figures, suppressed, min_cell)
    if exposed is None:
        return None
    weights, vector = exposed
    groups = [group for weight, group in zip(weights, IDENTITIES, strict=True) if weight]
    # Only a cell of the combination itself changes the sum it reveals.
    return _complement(figures, suppressed, min_cell, groups, usable=lambda cell: cell in vector)


def secondary_suppression(figures: dict[str, int], suppressed: set[str], min_cell: int) -> set[str]:
    """`suppressed` grown until no withheld cell is exposed by the published ones."""
    suppressed = set(suppressed)
    while (cell := _next_complement(figures, suppressed, min_cell)) is not None:
        suppressed.add(cell)
    return suppressed


def protect(figures: dict[str, int], min_cell: int | None = None) -> dict[str, int | None]:
    """
    One month's flat figures as published: withheld cells are None.

    With a K above the smallest published count, the cells withheld at that
    count stay withheld and more are added: a file at a larger K then shows a
    part of what the pages show, never a figure they withhold, so two
    publications of one month at different K cannot be put together to
    reveal one (each K alone would choose its own complementary cells).
    """
    floor = min_published_cell()
    min_cell = floor if min_cell is None else min_cell
    values = tuple(figures[c] for c in COLUMNS)
    return dict(zip(COLUMNS, _protected(values, min_cell, min(floor, min_cell)), strict=True))


@lru_cache(maxsize=4096)
def _protected(values: tuple[int, ...], min_cell: int, floor: int) -> tuple[int | None, ...]:
    # Cached: a month's suppression is worked out again for every later month's
    # report and every export; the key is counts only, kept in this process.
    figures = dict(zip(COLUMNS, values, strict=True))
    suppressed = secondary_suppression(figures, primary_suppression(figures, floor), floor)
    if min_cell != floor:
        suppressed |= primary_suppression(figures, min_cell)
        suppressed = secondary_suppression(figures, suppressed, min_cell)
    return tuple(None if cell in suppressed else figures[cell] for cell in COLUMNS)


def as_json(months: list[tuple[str, dict[str, int | None]]], min_cell: int) -> str:
    rows = []
    for month, cells in months:
        row: dict[str, Any] = {"month": month, **{total: cells[total] for total in TOTALS}}
        for key, prefix, slugs in BREAKDOWNS:
            row[key] = {slug: cells[f"{prefix}_{slug}"] for slug in slugs}
        rows.append(row)
    return json.dumps({"min_cell": min_cell, "months": rows}) + "\n"


def as_csv(
    months: list[tuple[str, dict[str, int | None]]], min_cell: int, headers: str = "codes"
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header_row(headers))
    withheld = f"<{min_cell}"
    for month, cells in months:
        writer.writerow([month, *(withheld if cells[c] is None else cells[c] for c in COLUMNS)])
    return out.getvalue()


class ExportRefused(ValueError):
    """An export request that is not allowed; `code` names the rule it breaks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# The longest export: ten years of months, one report each.
MAX_EXPORT_MONTHS = 120


def check_request(
    first: date, last: date, file_format: str, min_cell: int | None, headers: str = "codes"
) -> int:
    """The request's K (the smallest published count when none is asked for), or ExportRefused."""
    min_cell = min_published_cell() if min_cell is None else min_cell
    if first > last:
        raise ExportRefused("order", f"--from {label(first)} is after --to {label(last)}.")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_EXPORT_MONTHS:
        raise ExportRefused(
            "range", f"Export at most {MAX_EXPORT_MONTHS} months at a time, not {label(first)} "
            f"to {label(last)}."
        )  # fmt: skip
    if last >= current_month():
        # Two exports of a month still under way differ by single requests.
        raise ExportRefused(
            "incomplete", f"{label(last)} is not over yet: export complete months only."
        )
    if file_format not in FORMATS:
        raise ExportRefused("format", f"{file_format!r} is not a format: use {', '.join(FORMATS)}.")
    if headers not in HEADERS:
        raise ExportRefused("headers", f"{headers!r} is not a header style: use codes, en or ru.")
    floor = min_published_cell()
    if min_cell < floor:
        raise ExportRefused(
            "min_cell",
            f"--min-cell {min_cell} is below the smallest published count, {floor} "
            f"(MIN_PUBLISHED_CELL): use {floor} or more.",
        )
    return min_cell


@dataclass(frozen=True)
class Export:
    filename: str
    content_type: str
    content: str | bytes


def protected_months(
    first: date, last: date, min_cell: int | None = None
) -> list[tuple[str, dict[str, int | None]]]:
    """Every month from `first` to `last` (zeros included), as published."""
    cells = monthly_cells(first, last)
    return [(label(month), protect(figures, min_cell)) for month, figures in cells.items()]


def export_statistics(
    first: date,
    last: date,
    file_format: str,
    min_cell: int | None = None,
    actor=None,
    headers: str = "codes",
) -> Export:
    """
    The protected figures of every month from `first` to `last`, audited; K is
    the smallest published count unless a larger one is asked for.
    """
    min_cell = check_request(first, last, file_format, min_cell, headers)
    months = protected_months(first, last, min_cell)
    if file_format == "csv":
        content: str | bytes = as_csv(months, min_cell, headers)
    elif file_format == "json":
        content = as_json(months, min_cell)
    else:
        content = as_xlsx(months, min_cell, headers)
    detail = {"from": label(first), "to": label(last), "format": file_format, "min_cell": min_cell}
    if headers != "codes":
        detail["headers"] = headers
    record("stats.export", actor=actor, **detail)
    return Export(
        filename=f"tropa-stats-{label(first)}-{label(last)}.{file_format}",
        content_type=CONTENT_TYPES[file_format],
        content=content,
    )
