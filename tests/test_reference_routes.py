"""
Every reference the import accepts can be carried by the case URLs (fourth
review, item 3): `RT4/SLASH:1` once made the queue answer 500 for everyone.
"""

import io

import pytest
from django.core.management import call_command
from django.urls import resolve, reverse
from hypothesis import given
from hypothesis import strategies as st

from intake.importing import REFERENCE_PATTERN
from tests.csvdata import csv_row, write_csv
from tests.staffing import sign_in

CASE_URLS = ["detail", "move", "assign", "note", "reply", "follow_up"]


@given(st.from_regex(REFERENCE_PATTERN, fullmatch=True))
def test_every_reference_the_import_allows_reverses_and_resolves(reference):
    for name in CASE_URLS:
        url = reverse(f"cases:{name}", args=[reference])
        assert resolve(url).kwargs == {"reference": reference}, url


@pytest.mark.django_db
def test_an_imported_reference_with_a_slash_leaves_the_queue_working(client, alice, tmp_path):
    rows = [csv_row(1, reference="RT4/SLASH:1", state="new", outcome="", resolved_at="")]
    call_command(
        "import_requests", str(write_csv(tmp_path / "old.csv", rows)), stdout=io.StringIO()
    )
    sign_in(client, alice)

    queue, new = client.get("/staff/"), client.get("/staff/new/")

    assert queue.status_code == new.status_code == 200
    assert 'href="/staff/cases/RT4~SLASH:1/"' in queue.content.decode()
    page = client.get("/staff/cases/RT4~SLASH:1/")
    assert page.status_code == 200
    assert "Secret story 000001" in page.content.decode()  # opens: bound to its own reference
