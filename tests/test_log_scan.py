"""The log scan finds a planted sensitive value, and passes clean logs."""

import io
import logging

import pytest
from django.core.management import call_command

from intake.models import HelpRequest
from tests.log_scan import main, scan
from tests.sensitive_values import scannable


def write(folder, values: list[str], logs: dict[str, str]) -> None:
    (folder / "sensitive-values.txt").write_text("".join(f"{v}\n" for v in values))
    for name, text in logs.items():
        (folder / name).write_text(text)


def test_a_value_in_any_log_is_found_and_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042", "I need to leave my unit"],
        {"app.log": "INFO all fine\n", "gunicorn-1.log": "POST / 200 @requester_00042\n"},
    )

    assert scan(tmp_path)[2] == [("@requester_00042", "gunicorn-1.log")]
    assert main([str(tmp_path)]) == 1
    assert "1 found" in capsys.readouterr().out


def test_clean_logs_pass(tmp_path):
    write(tmp_path, ["@requester_00042"], {"app.log": "INFO request stored GL-7K3M-Q9TX\n"})

    assert main([str(tmp_path)]) == 0


def test_a_run_without_logs_or_values_does_not_pass(tmp_path):
    assert main([str(tmp_path)]) == 2
    write(tmp_path, ["@requester_00042"], {})
    assert main([str(tmp_path)]) == 2


def test_a_url_in_a_log_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042"],
        {"app.log": "WARNING Forbidden (Origin checking failed - https://elsewhere.example)\n"},
    )

    assert main([str(tmp_path)]) == 1
    assert "app.log, line 1: a URL" in capsys.readouterr().out


def test_a_raw_control_or_invisible_character_fails_the_scan(tmp_path, capsys):
    write(
        tmp_path,
        ["@requester_00042"],
        {
            "gunicorn-1.log": '"GET /\x00 HTTP/1.1" 404\n',
            "app.log": "INFO contact +7 900\u202e1234\n",
        },
    )

    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "gunicorn-1.log, line 1: raw control or invisible characters '\\x00'" in out
    assert "app.log, line 1: raw control or invisible characters '\\u202e'" in out


def test_escaped_forms_and_masked_urls_pass(tmp_path):
    write(
        tmp_path,
        ["@requester_00042"],
        {"app.log": 'INFO "GET /\\x00\\n HTTP/1.1" 404\nWARNING Origin checking failed - [url]\n'},
    )

    assert main([str(tmp_path)]) == 0


def test_a_value_sealed_but_not_collected_fails_the_scan(tmp_path, capsys):
    write(tmp_path, ["@requester_00042"], {"app.log": "INFO all fine\n"})
    (tmp_path / "sealed-but-not-collected.txt").write_text("A narrative nobody looked for\n")

    assert main([str(tmp_path)]) == 1
    assert "1 value(s) the run sealed were not collected" in capsys.readouterr().out


# --- the values come from where every sealing path passes -------------------------------


@pytest.fixture
def observed(sensitive_values_for_the_log_scan):
    """The run's observer of sealed values (tests/sensitive_values.py)."""
    return sensitive_values_for_the_log_scan


@pytest.mark.django_db
def test_every_way_the_app_seals_content_is_collected_for_the_scan(
    client, alice, observed, tmp_path
):
    from tests.csvdata import csv_row, write_csv
    from tests.intake_helpers import submit
    from tests.staffing import sign_in

    code = submit(client, narrative="Planted narrative from the web form 7781")
    client.post("/status/message/", {"code": code, "body": "Planted requester message 7782"})
    call_command(
        "import_requests",
        str(write_csv(tmp_path / "old.csv", [csv_row(7783, narrative="Planted import 7783")])),
        stdout=io.StringIO(),
    )
    reference = HelpRequest.objects.get(channel="web").reference
    staff = type(client)()
    sign_in(staff, alice)
    staff.post(f"/staff/cases/{reference}/notes/", {"body": "Planted caseworker note 7784"})
    staff.post(f"/staff/cases/{reference}/reply/", {"body": "Planted caseworker reply 7785"})

    planted = {
        "Planted narrative from the web form 7781",
        "Planted requester message 7782",
        "Planted import 7783",
        "Planted caseworker note 7784",
        "Planted caseworker reply 7785",
        "@form_contact_9001",
        code,
    }
    assert planted <= set(scannable(observed.collected))
    assert observed.uncollected() == []


@pytest.mark.django_db
def test_a_narrative_the_case_page_logs_is_found_by_the_scan(
    client, alice, observed, monkeypatch, tmp_path
):
    """The replay of the blind scan: the door logs the decrypted narrative."""
    from cases import views
    from tests.factories import CaseFactory
    from tests.staffing import sign_in

    case = CaseFactory(request__narrative="I will not go back to the front, 7790")
    real_open_case = views.open_case

    # Its own logger, writing only to this test's folder: the run's real log
    # (LOG_FILE) must stay clean, or the run's own scan would find this plant.
    leak = logging.getLogger("tests.planted_leak")
    leak.propagate = False

    def leaky_open_case(request, case, **kwargs):
        opened = real_open_case(request, case, **kwargs)
        leak.warning("opened %s", opened.request["narrative"])
        return opened

    monkeypatch.setattr(views, "open_case", leaky_open_case)
    handler = logging.FileHandler(tmp_path / "app.log", encoding="utf-8")
    leak.addHandler(handler)
    try:
        sign_in(client, alice)
        assert client.get(f"/staff/cases/{case.request.reference}/").status_code == 200
    finally:
        leak.removeHandler(handler)
        handler.close()
    observed.write(tmp_path)

    found = scan(tmp_path)[2]
    assert ("I will not go back to the front, 7790", "app.log") in found
    assert main([str(tmp_path)]) == 1


def test_a_module_name_used_as_test_text_is_not_looked_for():
    """Every log line names its logger ("audit.checks"): a test value that is one
    of the project's module names would be found by chance, so it is skipped."""
    assert scannable({"checks", "I need to leave my unit"}) == ["I need to leave my unit"]
