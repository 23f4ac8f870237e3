"""
The statistics export as an XLSX workbook (openpyxl, write-only mode).

Three sheets: the figures, one row per month, with withheld cells left empty
so that every figure column stays numeric; the status of each cell
("published" or "withheld"), in the same layout; and what each column counts.
"""

import io

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core import dates
from reports.columns import COLUMNS, column_title, header_row
from reports.definitions import DEFINITIONS
from reports.months import parse_label

# A month shown as "December 2026" / «декабрь 2026» by Excel and LibreOffice
# whatever their own locale ([$-409] English, [$-419] Russian), stored as a date.
MONTH_FORMATS = {"en": "[$-409]mmmm yyyy", "ru": "[$-419]mmmm yyyy"}
MONTH_WIDTH, FIGURE_WIDTH, WIDEST = 16, 12, 48

# The definition of each column group (reports.definitions).
COLUMN_DEFINITIONS = {
    "requests": "requests",
    "desertion_related": "desertion_related",
    "resolved": "resolved",
    "assisted_desertions": "assisted_desertions",
    "category": "category",
    "service_status": "service_status",
    "channel": "channel",
    "outcome": "outcome",
}


def _definition_key(column: str) -> str:
    if column in COLUMN_DEFINITIONS:
        return COLUMN_DEFINITIONS[column]
    return next(prefix for prefix in COLUMN_DEFINITIONS if column.startswith(f"{prefix}_"))


def _bold_row(sheet, values: list) -> list:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def as_xlsx(months: list[tuple[str, dict[str, int | None]]], min_cell: int, headers: str) -> bytes:
    language = headers if headers in ("en", "ru") else (translation.get_language() or "en")
    with translation.override(language):
        return _workbook(months, min_cell, headers)


def _month_cell(sheet, month: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=parse_label(month))
    cell.number_format = MONTH_FORMATS.get(translation.get_language() or "en", MONTH_FORMATS["en"])
    return cell


def _widths(sheet, titles: list[str]) -> None:
    """Wide enough for each header (wrapped past WIDEST) and for the figures below."""
    sheet.column_dimensions["A"].width = MONTH_WIDTH
    for index, title in enumerate(titles[1:], start=2):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(WIDEST, max(FIGURE_WIDTH, len(title) + 2))


def _workbook(months, min_cell: int, headers: str) -> bytes:
    book = Workbook(write_only=True)
    titles = header_row(headers)
    figures = book.create_sheet(_("Figures"))
    figures.freeze_panes = "B2"
    _widths(figures, titles)
    figures.append(_bold_row(figures, titles))
    for month, cells in months:
        figures.append([_month_cell(figures, month), *(cells[column] for column in COLUMNS)])
    status = book.create_sheet(_("Status"))
    status.freeze_panes = "B2"
    _widths(status, titles)
    status.append(_bold_row(status, titles))
    published, withheld = _("published"), _("withheld")
    for month, cells in months:
        status.append([
            _month_cell(status, month),
            *(withheld if cells[c] is None else published for c in COLUMNS),
        ])  # fmt: skip
    about = book.create_sheet(_("Definitions"))
    for letter, width in zip("ABC", (WIDEST, 32, 100), strict=True):
        about.column_dimensions[letter].width = width
    about.append(_bold_row(about, [_("Smallest published count"), min_cell]))
    first, last = parse_label(months[0][0]), parse_label(months[-1][0])
    about.append([_("Months"), dates.period(first, last)])
    about.append([str(DEFINITIONS["withheld"].term), str(DEFINITIONS["withheld"].text)])
    about.append([])
    about.append(_bold_row(about, [_("Column"), _("Code"), _("What it counts")]))
    for title, column in zip(titles[1:], COLUMNS, strict=True):
        definition = DEFINITIONS[_definition_key(column)]
        about.append([title if headers != "codes" else column_title(column), column,
                      str(definition.text)])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
