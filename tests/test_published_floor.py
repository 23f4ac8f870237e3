"""
The smallest published count is a setting, MIN_PUBLISHED_CELL (10 unless set):
the pages use it, and no export (command, form, link) goes below it. An export
may ask for more, and then withholds everything the floor withholds and more,
so two files of one month at different K never reveal what either withholds.
"""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from reports.exports import protect
from reports.services import store_report
from tests.factories import HelpRequestFactory
from tests.staffing import sign_in
from tests.test_export_stats import month_tables
from tests.test_settings import KEY_A, KEY_B, manage

JANUARY = datetime(2024, 1, 15, 12, tzinfo=UTC)
URL = "/staff/exports/"
FORM = {"from_month": "2024-01", "to_month": "2024-01", "file_format": "json"}


def received(count: int, **fields) -> None:
    HelpRequestFactory.create_batch(count, received_at=JANUARY, **fields)


@pytest.fixture
def twelve_by_telegram(db):
    """A month with 12 requests by Telegram: published at 10, withheld at 15."""
    received(100, channel="web", category="consultation")
    received(12, channel="telegram", category="consultation")


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_stats", "--from", "2024-01", "--to", "2024-01", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
def test_the_command_refuses_a_count_below_the_floor_naming_it(twelve_by_telegram):
    with pytest.raises(CommandError, match=r"--min-cell 12 is below .* 15 \(MIN_PUBLISHED_CELL\)"):
        export("--format", "json", "--min-cell", "12")

    assert not AuditEntry.objects.filter(action="stats.export").exists()


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
def test_without_a_count_the_command_uses_the_floor(twelve_by_telegram):
    document = json.loads(export("--format", "json"))

    assert document["min_cell"] == 15
    assert document["months"][0]["by_channel"]["telegram"] is None


@pytest.mark.django_db
def test_the_default_floor_is_ten_and_two_is_refused(twelve_by_telegram):
    document = json.loads(export("--format", "json"))

    assert document["min_cell"] == 10
    assert document["months"][0]["by_channel"]["telegram"] == 12
    with pytest.raises(CommandError, match="--min-cell 2 is below the smallest published count"):
        export("--format", "json", "--min-cell", "2")


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
@pytest.mark.parametrize("asked", ["2", "12", "14"])
def test_the_form_and_its_links_refuse_a_count_below_the_floor(client, dave, asked):
    sign_in(client, dave)

    posted = client.post(URL, {**FORM, "min_cell": asked})
    linked = client.get(URL, {**FORM, "min_cell": asked})

    for response in (posted, linked):
        assert response.status_code == 400
        assert "Content-Disposition" not in response
        assert "15" in response.content.decode()
    assert not AuditEntry.objects.filter(action="stats.export").exists()


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
def test_the_form_offers_the_floor_and_a_link_without_a_count_uses_it(
    client, dave, twelve_by_telegram
):
    sign_in(client, dave)

    page = client.get(URL).content.decode()
    response = client.get(URL, FORM)

    assert 'name="min_cell" value="15"' in page
    assert 'min="15"' in page
    assert response.status_code == 200
    assert json.loads(response.content)["min_cell"] == 15


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
def test_the_pages_use_the_floor(twelve_by_telegram):
    report = store_report(JANUARY.date().replace(day=1))

    assert report.published["min_cell"] == 15
    assert report.published["by_channel"]["telegram"] is None


@settings(max_examples=150, deadline=None)
@given(truth=month_tables, more=st.integers(1, 10))
def test_a_larger_count_shows_part_of_what_the_floor_shows_never_more(truth, more):
    at_floor = protect(truth)
    larger = protect(truth, 10 + more)

    for cell, value in larger.items():
        assert value is None or value == at_floor[cell], cell
    assert not any(value is not None and 0 < value < 10 + more for value in larger.values())


def test_a_floor_below_two_refuses_to_start():
    result = manage("check", DEBUG="0", SECRET_KEY=KEY_A, ENCRYPTION_KEY=KEY_B,
                    MIN_PUBLISHED_CELL="1")  # fmt: skip

    assert result.returncode != 0
    assert "MIN_PUBLISHED_CELL must be 2 or more" in result.stderr


@pytest.mark.django_db
@override_settings(MIN_PUBLISHED_CELL=15)
def test_the_definitions_name_the_floor(client, carol):
    sign_in(client, carol)

    page = client.get("/staff/reports/definitions/").content.decode()

    assert "(15 on these pages" in page
