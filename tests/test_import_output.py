"""
What `import_requests` prints about a bad file (fourth review, items 4, 5, 11):
no contact or story from a swapped column reaches the terminal, no escape
sequence from the file reaches it raw, and the file is held to the form's rules.
"""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intake.models import HelpRequest
from tests.csvdata import csv_row, write_csv

pytestmark = pytest.mark.django_db

HANDLE = "@real_handle_1 +7 900 555 001"


def failing(path, *args: str) -> str:
    """Everything the command prints for a refused file."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_requests", str(path), *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue() + str(failure.value)


def test_a_contact_in_a_swapped_column_is_never_printed(tmp_path):
    rows = [
        csv_row(n, channel=f"{HANDLE}{n}", location="She lives at 5 Lenina St") for n in range(3)
    ]

    printed = failing(write_csv(tmp_path / "old.csv", rows))

    assert "real_handle" not in printed and "900 555" not in printed and "Lenina" not in printed
    assert "line 2, column channel: a value of 30 characters is not one of web" in printed
    assert "line 2, column location: a value of 24 characters is not one of" in printed
    assert HelpRequest.objects.count() == 0


def test_a_value_that_could_be_a_slug_or_a_date_is_quoted(tmp_path):
    rows = [csv_row(1, channel="webb", received_at="2024-13-01", legal_articles="339")]

    printed = failing(write_csv(tmp_path / "old.csv", rows))

    assert "column channel: 'webb' is not one of web" in printed
    assert "column received_at: '2024-13-01' is not an ISO 8601 date" in printed
    assert "unknown article(s): 339; use 332, 337, 338" in printed


def test_show_values_quotes_everything_for_a_trusted_terminal(tmp_path):
    printed = failing(
        write_csv(tmp_path / "old.csv", [csv_row(1, channel=HANDLE)]), "--show-values"
    )

    assert f"column channel: {HANDLE!r} is not one of web" in printed


def test_escape_sequences_from_the_file_never_reach_the_terminal_raw(tmp_path):
    forged = "\x1b[2K\rImported 500 request(s)"
    clipboard = "\x1b]52;c;cm0gLXJmIH4=\x07"
    rows = [csv_row(1, legal_articles=f"337;{clipboard}", urgency=forged)]
    path = write_csv(
        tmp_path / "\x1b]0;owned\x07.csv", rows, columns=(*csv_row(1), "\x1b[31mextra")
    )

    printed = failing(path)
    good = write_csv(tmp_path / "\x1b[2Jgood.csv", [csv_row(2)], columns=(*csv_row(2), "\x1b[1mx"))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_requests", str(good), stdout=out, stderr=err)

    for text in (printed, out.getvalue(), err.getvalue()):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07.csv: line 2, column urgency:" in printed
    assert "Imported 1 request(s) from \\x1b[2Jgood.csv" in out.getvalue()


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("contact", "@handle\x00", "holds a NUL character"),
        ("contact", "x" * 201, "is longer than 200 characters (201)"),
        ("contact", "x" * 100_000, "is longer than 200 characters (100000)"),
        ("narrative", "a story\x00", "holds a NUL character"),
        ("narrative", "y" * 10_001, "is longer than 10000 characters (10001)"),
    ],
)
def test_the_import_refuses_what_the_form_refuses(tmp_path, column, value, problem):
    printed = failing(write_csv(tmp_path / "old.csv", [csv_row(1, **{column: value})]))

    assert f"line 2, column {column}: {problem}" in printed
    assert "@handle" not in printed and "a story" not in printed
    assert HelpRequest.objects.count() == 0


def test_an_encoding_error_names_its_line_and_byte(tmp_path):
    path = write_csv(tmp_path / "old.csv", [csv_row(1), csv_row(2)])
    lines = path.read_bytes().splitlines(keepends=True)
    bad = lines[2].replace(b"Secret", b"Secr\xe9t")
    path.write_bytes(b"".join([lines[0], lines[1], bad]))
    byte = len(lines[0]) + len(lines[1]) + bad.index(b"\xe9")

    printed = failing(path)

    assert f"line 3: the file is not valid UTF-8 (byte {byte:,})" in printed
    assert "line 0" not in printed
