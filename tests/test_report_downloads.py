"""
The coordinator's downloads: the statistics export as CSV, JSON and XLSX, and
the dashboard's charts as SVG and PNG; each audited without a figure.
"""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from hypothesis import given, settings
from openpyxl import load_workbook
from PIL import Image

from audit.models import AuditEntry
from reports.exports import COLUMNS, as_csv, protect
from reports.months import current_month, label, shift
from reports.services import store_report
from reports.spreadsheet import as_xlsx
from tests.factories import CaseFactory
from tests.staffing import sign_in
from tests.test_export_stats import JANUARY_PUBLISHED, make_january_2024, month_tables

pytestmark = pytest.mark.django_db

URL = "/staff/exports/"
FORM = {"from_month": "2023-12", "to_month": "2024-02", "file_format": "xlsx", "min_cell": "10"}


@pytest.fixture
def january_2024(db):
    """The export tests' January 2024: 336 requests, a few small groups."""
    make_january_2024()


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_a_coordinator_downloads_the_xlsx_and_it_is_audited(client, carol, january_2024):
    sign_in(client, carol)
    response = client.post(URL, FORM)

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith('filename="tropa-stats-2023-12-2024-02.xlsx"')
    entry = AuditEntry.objects.get(action="stats.export")
    assert entry.actor == "carol"
    assert entry.detail == {
        "from": "2023-12", "to": "2024-02", "format": "xlsx", "min_cell": 10, "headers": "en"
    }  # fmt: skip
    assert not any(str(n) in json.dumps(entry.detail) for n in (284, 336, 296, 249, 142))


def test_the_xlsx_has_numeric_columns_empty_withheld_cells_and_a_status_sheet(
    client, carol, january_2024
):
    sign_in(client, carol)
    book = workbook(client.post(URL, {**FORM, "headers": "codes"}).content)

    figures, status, definitions = book.worksheets
    header, *months = rows(figures)
    assert header == ("month", *COLUMNS)
    january = dict(zip(header, months[1], strict=True))
    assert january["month"] == datetime(2024, 1, 1)
    january_status = dict(zip(header, rows(status)[2], strict=True))
    for column in COLUMNS:
        published = JANUARY_PUBLISHED[column]
        if published.startswith("<"):
            assert january[column] is None
            assert january_status[column] == "withheld"
        else:
            assert january[column] == int(published)
            assert january_status[column] == "published"
    for sheet_row in figures.iter_rows(min_row=2, min_col=2):
        for cell in sheet_row:
            assert cell.value is None or (cell.data_type == "n" and isinstance(cell.value, int))
    words = " ".join(str(value) for row in rows(definitions) for value in row if value)
    assert "service_status_conscript" in words
    assert "Counts only desertion-related requests" in words


def test_headers_in_russian_say_that_service_status_counts_desertion_related_requests(
    client, carol, january_2024
):
    sign_in(client, carol)
    book = workbook(client.post(URL, {**FORM, "headers": "ru"}).content)

    header = rows(book.worksheets[0])[0]
    assert header[0] == "Месяц"
    status_columns = [title for title in header if "Срочник" in str(title)]
    assert status_columns and "дезертир" in status_columns[0].lower()


def test_csv_with_english_headers_keeps_the_figures(client, carol, january_2024):
    sign_in(client, carol)
    text = client.post(URL, {**FORM, "file_format": "csv", "headers": "en"}).content.decode()

    header, january = next(csv.reader(io.StringIO(text))), list(csv.reader(io.StringIO(text)))[2]
    assert header[1] == "Requests received"
    assert "Desertion-related requests by service status: Conscript" in header
    assert january[1:] == [JANUARY_PUBLISHED[column] for column in COLUMNS]


def test_the_command_writes_xlsx_to_a_redirected_stdout(january_2024):
    out = io.BytesIO()
    call_command(
        "export_stats", "--from", "2024-01", "--to", "2024-01", "--format", "xlsx", stdout=out
    )

    assert rows(workbook(out.getvalue()).worksheets[0])[1][1] == 336


@settings(max_examples=100, deadline=None)
@given(truth=month_tables)
def test_no_withheld_cell_reaches_a_download(truth):
    published = protect(truth, 10)
    months = [("2024-01", published)]
    book = workbook(as_xlsx(months, 10, "en"))
    text = as_csv(months, 10)

    values = rows(book.worksheets[0])[1][1:]
    marks = rows(book.worksheets[1])[1][1:]
    csv_values = list(csv.reader(io.StringIO(text)))[1][1:]
    for column, value, mark, csv_value in zip(COLUMNS, values, marks, csv_values, strict=True):
        if published[column] is None:
            assert (value, mark, csv_value) == (None, "withheld", "<10")
        else:
            assert (value, mark, csv_value) == (truth[column], "published", str(truth[column]))


# Charts.


@pytest.fixture
def stored_months(db):
    for back in range(1, 4):
        month = shift(current_month(), -back)
        received = datetime(month.year, month.month, 10, tzinfo=UTC)
        CaseFactory.create_batch(12, request__received_at=received, request__category="desertion")
        CaseFactory(request__received_at=received, request__service_status="volunteer")
        store_report(month)


@pytest.mark.parametrize("name", ["categories", "service-status"])
def test_a_chart_downloads_as_svg_and_png(client, carol, stored_months, name):
    sign_in(client, carol)

    svg = client.get(f"/staff/dashboard/charts/{name}.svg")
    png = client.get(f"/staff/dashboard/charts/{name}.png")

    assert svg.status_code == png.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert svg.content.decode().lstrip().startswith("<?xml") and b"<svg" in svg.content
    assert png["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and image.width >= 760
    assert png["Content-Disposition"].startswith(f'attachment; filename="tropa-{name}-')
    assert AuditEntry.objects.filter(action="stats.chart", actor="carol").count() == 2


def test_a_chart_shows_a_withheld_status_as_withheld(client, carol, stored_months):
    sign_in(client, carol)
    svg = client.get("/staff/dashboard/charts/service-status.svg").content.decode()

    # One volunteer a month: withheld every month, so over the whole window too.
    assert "Volunteer" in svg
    assert "withheld" in svg
    assert ">3<" not in svg and ">3 (" not in svg


def test_a_chart_in_russian_has_cyrillic_labels_in_the_png(client, carol, stored_months):
    sign_in(client, carol)
    client.cookies["django_language"] = "ru"

    svg = client.get("/staff/dashboard/charts/categories.svg").content.decode()
    png = client.get("/staff/dashboard/charts/categories.png")

    assert "Дезертирство" in svg
    assert png.status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/staff/dashboard/charts/other.svg", "/staff/dashboard/charts/categories.pdf"],
)
def test_an_unknown_chart_or_format_is_404(client, carol, stored_months, url):
    sign_in(client, carol)

    assert client.get(url).status_code == 404


def test_caseworkers_get_no_chart_and_no_definitions(client, alice, stored_months):
    sign_in(client, alice)

    assert client.get("/staff/dashboard/charts/categories.svg").status_code == 403
    assert client.get("/staff/reports/definitions/").status_code == 403


def test_every_tile_and_chart_links_to_its_definition(client, carol, stored_months):
    sign_in(client, carol)
    page = client.get("/staff/dashboard/").content.decode()
    definitions = client.get("/staff/reports/definitions/").content.decode()

    tiles = page.split('<li class="tile">')[1:]
    assert len(tiles) == 7
    for tile in tiles:
        assert 'href="/staff/reports/definitions/#' in tile.split("</li>")[0]
    for section in page.split("<section")[1:]:
        assert 'href="/staff/reports/definitions/#' in section
    for anchor in set(page.split('href="/staff/reports/definitions/#')[1:]):
        assert f'id="{anchor.split(chr(34))[0]}"' in definitions
    assert "lost contact, detained, returned to service and declined" in definitions
    assert f"{label(shift(current_month(), -1))}" in page


def test_month_pages_and_the_dashboard_have_a_print_stylesheet(client, carol, stored_months):
    sign_in(client, carol)
    month = label(shift(current_month(), -1))

    for url in ("/staff/dashboard/", f"/staff/reports/{month}/"):
        assert 'href="/static/css/print.css" media="print"' in client.get(url).content.decode()
    css = client.get("/static/css/print.css")
    assert b"@media print" in b"".join(css.streaming_content)


@pytest.fixture
def month_under_way(stored_months):
    """The month under way, stored as the nightly run stores it: far fewer requests so far."""
    month = current_month()
    received = datetime(month.year, month.month, 1, 1, tzinfo=UTC)
    CaseFactory.create_batch(11, request__received_at=received, request__category="consultation")
    store_report(month)
    return label(month)


def test_the_month_under_way_is_left_out_of_charts_and_their_totals(client, carol, month_under_way):
    from core import dates
    from reports import presentation
    from reports.selectors import dashboard

    sign_in(client, carol)
    client.cookies["django_language"] = "en"
    data = dashboard()
    assert data.window[-1] == shift(current_month(), -1)
    with translation.override("en"):
        under_way, last = dates.month(current_month()), dates.month(shift(current_month(), -1))
        shown = [month for month, _counts in presentation.category_rows(data)]
    assert last in shown and under_way not in shown
    svg = client.get("/staff/dashboard/charts/categories.svg").content.decode()
    assert f"<title>{last} ·" in svg
    assert f"{under_way} ·" not in svg and "Consultation: 11" not in svg
    page = client.get("/staff/dashboard/").content.decode()
    # The page keeps it in the stored months' table, marked partial.
    assert f'{month_under_way}/">{under_way}</a> <span class="partial">partial: to ' in page


def test_the_month_under_way_changes_no_downloaded_chart(client, carol, month_under_way):
    from reports.models import MonthlyReport

    sign_in(client, carol)
    urls = [f"/staff/dashboard/charts/{name}.{ext}" for name in ("categories", "service-status")
            for ext in ("svg", "png")]  # fmt: skip
    with_it = [client.get(url).content for url in urls]
    MonthlyReport.objects.filter(month=current_month()).delete()
    without_it = [client.get(url).content for url in urls]

    assert with_it == without_it


@pytest.mark.parametrize("name", ["categories", "service-status"])
def test_every_downloaded_chart_says_its_period_date_and_source(
    client, carol, stored_months, settings, name
):
    from core import dates
    from reports import charts, presentation
    from reports.selectors import dashboard

    settings.SITE_NAME = "Test Hotline"
    sign_in(client, carol)
    svg = client.get(f"/staff/dashboard/charts/{name}.svg").content.decode()
    first, last = shift(current_month(), -24), shift(current_month(), -1)
    with translation.override("en"):
        today = dates.day(timezone.localdate())
        period = f"{dates.month(first)} – {dates.month(last)}"

    assert f"Period: {period}, complete months only" in svg
    assert f"Generated {today} by Test Hotline from its stored monthly reports" in svg
    # The PNG: the chart as on the page, with the same small print painted below it.
    png = Image.open(io.BytesIO(client.get(f"/staff/dashboard/charts/{name}.png").content))
    with translation.override("en"):
        bare = Image.open(io.BytesIO(charts.to_png(presentation.chart(name, dashboard()))))
    assert png.height > bare.height and png.width == bare.width
    assert png.convert("RGB").crop((0, 0, *bare.size)).tobytes() == bare.convert("RGB").tobytes()
    below = png.convert("L").crop((0, bare.height, png.width, png.height))
    assert below.getextrema()[0] < 128  # text was painted there
    client.cookies["django_language"] = "ru"
    russian = client.get(f"/staff/dashboard/charts/{name}.svg").content.decode()
    assert "Период: " in russian and "только полные месяцы" in russian


def test_the_xlsx_has_month_dates_column_widths_and_worded_headers_by_default(
    client, carol, january_2024
):
    sign_in(client, carol)
    client.cookies["django_language"] = "en"
    book = workbook(client.post(URL, FORM).content)  # no header style asked for

    figures, status, definitions = book.worksheets
    header = rows(figures)[0]
    assert header[:3] == ("Month", "Requests received", "Desertion-related requests")
    for sheet in (figures, status):
        months = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1)]
        assert [cell.value for cell in months] == [datetime(2023, 12, 1), datetime(2024, 1, 1),
                                                   datetime(2024, 2, 1)]  # fmt: skip
        assert {cell.number_format for cell in months} == {"[$-409]mmmm yyyy"}
        assert sheet.column_dimensions["A"].width >= 14
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1][1:]]
        assert all(
            width >= min(48, len(str(c.value)))
            for width, c in zip(widths, sheet[1][1:], strict=True)
        )
    assert ("Months", "December 2023 – February 2024", None) in rows(definitions)

    client.cookies["django_language"] = "ru"
    russian = workbook(client.post(URL, FORM).content).worksheets[0]
    assert rows(russian)[0][0] == "Месяц"
    assert russian["A2"].number_format == "[$-419]mmmm yyyy"


def test_the_export_form_offers_words_in_the_page_language(client, carol):
    sign_in(client, carol)
    client.cookies["django_language"] = "en"
    page = client.get(URL).content.decode()

    assert re.search(r'<input[^>]*name="headers" value="en"[^>]*checked', page)
