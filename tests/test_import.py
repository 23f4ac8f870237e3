"""`manage.py import_requests`: all or nothing, idempotent, every bad line named."""

import io
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.access import fingerprint_backlog
from cases.models import Case, CaseEvent
from intake.importing import COLUMNS, ImportFailed, import_file
from intake.models import HelpRequest
from tests.content_keys import fingerprint, opened, organisation_keys
from tests.csvdata import csv_row, write_csv

pytestmark = pytest.mark.django_db


def run_import(path) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_requests", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_import(path) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_requests", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue() + str(failure.value)


def test_it_imports_every_row_with_its_case(tmp_path):
    rows = [csv_row(n) for n in range(1, 6)]
    rows.append(csv_row(6, state="in_progress", outcome="", resolved_at=""))
    rows.append(csv_row(7, state="rejected", outcome="", resolved_at="", legal_articles=""))
    out, _ = run_import(write_csv(tmp_path / "in.csv", rows))

    assert "Imported 7 request(s)" in out
    assert "skipped 0" in out
    stored = HelpRequest.objects.get(reference="HIST-000001")
    assert opened(stored, "contact", "narrative") == {
        "contact": "+7 900 555-0001",
        "narrative": "Secret story 000001: wants to leave unit 12345",
    }
    assert stored.legal_articles == ["337", "338"]
    # The import holds only the public key: the fingerprint waits for a
    # caseworker's session, which then recognises the contact.
    assert stored.contact_fingerprint == ""
    assert fingerprint_backlog(organisation_keys(), 100) == 7
    stored.refresh_from_db()
    assert stored.contact_fingerprint == fingerprint("+7 900 555-0001")
    assert stored.received_at.isoformat() == "2024-01-02T10:00:00+00:00"
    case = stored.case
    assert (case.state, case.outcome) == ("closed", "left_country")
    assert case.resolved_at.date().isoformat() == "2024-02-15"
    assert case.closed_at == case.resolved_at
    assert HelpRequest.objects.get(reference="HIST-000006").case.closed_at is None
    assert HelpRequest.objects.get(reference="HIST-000007").legal_articles == []
    events = CaseEvent.objects.filter(kind="imported")
    assert events.count() == 7
    event = events.get(case=case)
    assert (event.from_state, event.to_state, event.outcome) == ("", "closed", "left_country")
    assert abs((timezone.now() - event.at).total_seconds()) < 60


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    path = write_csv(tmp_path / "in.csv", [csv_row(n) for n in range(1, 11)])
    run_import(path)
    out, _ = run_import(path)

    assert "Imported 0 request(s)" in out
    assert "skipped 10" in out
    assert HelpRequest.objects.count() == 10
    assert Case.objects.count() == 10
    assert CaseEvent.objects.count() == 10


def test_a_file_with_one_bad_row_imports_nothing_and_names_line_and_column(tmp_path):
    rows = [csv_row(n) for n in range(1, 30)]
    rows[6]["category"] = "desrtion"  # line 8: the header is line 1
    message = failing_import(write_csv(tmp_path / "in.csv", rows))

    assert "line 8, column category" in message
    assert "'desrtion' is not one of desertion, border_crossing, consultation" in message
    assert "nothing was imported" in message
    assert HelpRequest.objects.count() == 0
    assert Case.objects.count() == 0


def test_it_names_every_bad_line(tmp_path):
    rows = [csv_row(n) for n in range(1, 10)]
    rows[0]["received_at"] = "yesterday"
    rows[3]["legal_articles"] = "337;999"
    rows[4]["state"] = "resolved"
    rows[4]["outcome"] = ""
    rows[8]["reference"] = ""
    message = failing_import(write_csv(tmp_path / "in.csv", rows))

    assert "line 2, column received_at: 'yesterday' is not an ISO 8601" in message
    assert "line 5, column legal_articles: unknown article(s): 999" in message
    assert "line 6, column outcome: is required when state is resolved" in message
    assert "line 10, column reference: is empty" in message
    assert HelpRequest.objects.count() == 0


def test_a_bad_row_after_stored_batches_still_stores_nothing(tmp_path):
    rows = [csv_row(n) for n in range(1, 4500)]
    rows.append(dict(rows[10]))  # the same reference again, in a later batch
    message = failing_import(write_csv(tmp_path / "in.csv", rows))

    assert "line 4501, column reference: 'HIST-000011' appears on an earlier line" in message
    assert HelpRequest.objects.count() == 0


def test_it_refuses_a_file_without_the_required_columns(tmp_path):
    columns = [c for c in COLUMNS if c != "urgency"]
    message = failing_import(write_csv(tmp_path / "in.csv", [csv_row(1)], columns=columns))

    assert "line 1: missing column(s): urgency" in message


def test_it_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "in.csv"
    write_csv(path, [csv_row(1, narrative="рассказ")])
    path.write_bytes(path.read_bytes().decode("utf-8").encode("cp1251"))

    assert "not valid UTF-8" in failing_import(path)
    assert HelpRequest.objects.count() == 0


def test_it_refuses_a_row_with_missing_fields(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(",".join(COLUMNS) + "\nHIST-1,2024-01-01,web\n", encoding="utf-8")

    assert "line 2: expected 13 fields, found 3" in failing_import(path)


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_requests", str(tmp_path / "absent.csv"))


def test_a_narrative_with_line_breaks_keeps_its_record_line(tmp_path):
    rows = [csv_row(1, narrative="first\nsecond\nthird"), csv_row(2, channel="pigeon")]
    message = failing_import(write_csv(tmp_path / "in.csv", rows))

    assert "line 3 (file line 5), column channel" in message


def test_dates_may_carry_an_offset_or_be_plain_dates(tmp_path):
    rows = [
        csv_row(1, received_at="2024-01-31T23:30:00+00:00"),
        csv_row(2, received_at="2024-01-31", resolved_at="2024-03-01T08:00:00Z"),
    ]
    run_import(write_csv(tmp_path / "in.csv", rows))

    first = HelpRequest.objects.get(reference="HIST-000001")
    second = HelpRequest.objects.get(reference="HIST-000002")
    # Received times are kept to the hour (core.clock), in their month.
    assert first.received_at.isoformat() == "2024-01-31T23:00:00+00:00"
    assert second.received_at.isoformat() == "2024-01-31T00:00:00+00:00"
    assert second.case.resolved_at.isoformat() == "2024-03-01T08:00:00+00:00"


@pytest.mark.django_db(transaction=True)
def test_worker_processes_store_exactly_what_a_single_process_stores(tmp_path, settings):
    # Workers must encrypt under the key in use here, not one from the environment.
    settings.ENCRYPTION_KEY = "a-key-set-only-in-this-test-" + "w" * 30
    rows = [csv_row(n) for n in range(1, 5001)]
    rows[10]["narrative"] = "многострочный\nрассказ, с запятой"
    summary = import_file(write_csv(tmp_path / "in.csv", rows), workers=2)

    assert (summary.rows, summary.created) == (5000, 5000)
    stored = HelpRequest.objects.get(reference="HIST-000011")
    assert opened(stored, "narrative")["narrative"] == "многострочный\nрассказ, с запятой"
    assert stored.case.state == "closed"
    assert CaseEvent.objects.count() == 5000


@pytest.mark.django_db(transaction=True)
def test_worker_processes_refuse_a_bad_file_as_a_whole(tmp_path):
    rows = [csv_row(n) for n in range(1, 5001)]
    rows[4321]["urgency"] = "yesterday"
    with pytest.raises(ImportFailed) as failure:
        import_file(write_csv(tmp_path / "in.csv", rows), workers=2)

    assert [str(e) for e in failure.value.errors] == [
        "line 4323, column urgency: 'yesterday' is not one of low, normal, high, critical"
    ]
    assert HelpRequest.objects.count() == 0


def test_it_shows_progress_on_large_files(tmp_path):
    path = write_csv(tmp_path / "in.csv", [csv_row(n) for n in range(1, 10_001)])
    out, err = run_import(path)

    assert "10000 rows read" in err
    assert "Imported 10000 request(s)" in out
    assert HelpRequest.objects.count() == 10_000


# What the public form accepts too: no NUL, no unpaired surrogate.
form_text = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.text(form_text, max_size=60)
fuzz_numbers = itertools.count(1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.fixed_dictionaries({column: text for column in COLUMNS}))
def test_any_row_is_either_imported_or_refused_with_its_column_named(tmp_path, values):
    path = write_csv(tmp_path / "fuzz.csv", [values])
    before = HelpRequest.objects.count()
    try:
        import_file(path)
    except ImportFailed as failure:
        for error in failure.errors:
            assert error.column in (*COLUMNS, "")
            assert str(error).startswith("line ")
        assert HelpRequest.objects.count() == before
    else:
        assert HelpRequest.objects.filter(reference=values["reference"].strip()).exists()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(contact=text, narrative=st.text(form_text, max_size=500), number=st.integers(1, 999_999))
def test_any_text_survives_import_and_encryption_exactly(tmp_path, contact, narrative, number):
    reference = f"FUZZ-{next(fuzz_numbers)}"
    row = csv_row(number, reference=reference, contact=contact, narrative=narrative)
    run_import(write_csv(tmp_path / "fuzz.csv", [row]))

    stored = HelpRequest.objects.get(reference=reference)
    assert opened(stored, "contact", "narrative") == {
        "contact": contact.strip(),
        "narrative": narrative.strip(),
    }
