"""
The anonymised statistics export: small-cell suppression, the command, the page.

The disclosure checks below do not trust reports.exports: the identities are
written again from SPEC.md, determination is decided by a fraction-free integer
elimination (not the module's rational one), and for every withheld cell a
second table is searched for that agrees with everything published.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from itertools import combinations
from math import gcd
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from reports.exports import DEFAULT_MIN_CELL, protect, secondary_suppression
from reports.months import current_month, label, shift
from tests.factories import CaseFactory, HelpRequestFactory
from tests.staffing import sign_in

CATEGORIES = ["desertion", "border_crossing", "consultation"]
STATUSES = ["conscript", "mobilised", "contract_prewar", "contract_wartime", "volunteer",
            "civilian", "unknown"]  # fmt: skip
CHANNELS = ["web", "telegram", "signal", "email", "phone", "other"]
OUTCOMES = ["left_country", "hiding_in_country", "consultation_given", "referred",
            "lost_contact", "returned_to_service", "detained", "declined"]  # fmt: skip
TOTALS = ["requests", "desertion_related", "resolved", "assisted_desertions"]
BREAKDOWNS = [("category", CATEGORIES), ("service_status", STATUSES), ("channel", CHANNELS),
              ("outcome", OUTCOMES)]  # fmt: skip
COLUMNS = TOTALS + [f"{prefix}_{slug}" for prefix, slugs in BREAKDOWNS for slug in slugs]


def cells(prefix: str, slugs: list[str]) -> list[str]:
    return [f"{prefix}_{slug}" for slug in slugs]


# SPEC.md's identities within a month, as total - members = 0.
IDENTITIES = [
    ("requests", cells("category", CATEGORIES)),
    ("requests", cells("channel", CHANNELS)),
    ("desertion_related", cells("service_status", STATUSES)),
    ("desertion_related", ["category_desertion", "category_border_crossing"]),
    ("resolved", cells("outcome", OUTCOMES)),
    ("assisted_desertions", ["outcome_left_country", "outcome_hiding_in_country"]),
]
ROWS = [{total: 1, **dict.fromkeys(members, -1)} for total, members in IDENTITIES]


def table(requests: dict[tuple[str, str, str], int], outcomes: dict[str, int]) -> dict[str, int]:
    """A month's figures from counts of (category, channel, service status) and outcomes."""
    figures = dict.fromkeys(COLUMNS, 0)
    for (category, channel, status), count in requests.items():
        figures["requests"] += count
        figures[f"category_{category}"] += count
        figures[f"channel_{channel}"] += count
        if category in ("desertion", "border_crossing"):
            figures["desertion_related"] += count
            figures[f"service_status_{status}"] += count
    for outcome, count in outcomes.items():
        figures["resolved"] += count
        figures[f"outcome_{outcome}"] += count
        if outcome in ("left_country", "hiding_in_country"):
            figures["assisted_desertions"] += count
    return figures


def rank(vectors: list[list[int]]) -> int:
    """Rank by integer elimination: cross-multiplied rows, each reduced by its gcd."""
    rows = [list(v) for v in vectors if any(v)]
    found = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((r for r in range(found, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        top = rows[found]
        for r in range(found + 1, len(rows)):
            factor = rows[r][column]
            if factor:
                row = [top[column] * a - factor * b for a, b in zip(rows[r], top, strict=True)]
                divisor = gcd(*row) or 1
                rows[r] = [value // divisor for value in row]
        found += 1
    return found


def derivable(withheld: list[str], wanted: set[str]) -> bool:
    """Whether the sum of the `wanted` withheld cells follows from the published ones."""
    matrix = [[row.get(cell, 0) for cell in withheld] for row in ROWS]
    target = [int(cell in wanted) for cell in withheld]
    return rank(matrix) == rank([*matrix, target])


def another_table(truth: dict[str, int], withheld: list[str], cell: str) -> dict[str, int] | None:
    """
    A table that differs from `truth` at `cell`, keeps every published figure
    and every identity, and has at least 1 in every withheld cell that holds 1
    or more (zeros are published, so a reader knows that much): changes of -1,
    0 or +1 per cell.
    """
    order = [cell, *(other for other in withheld if other != cell)]
    rows = [row for row in ROWS if any(other in row for other in withheld)]
    partial = [0] * len(rows)
    left = [sum(other in row for other in order) for row in rows]
    change: dict[str, int] = {}
    budget = [100_000]

    def search(position: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if position == len(order):
            return not any(partial)
        current = order[position]
        for step in (1, -1) if position == 0 else (0, 1, -1):
            if truth[current] + step < min(truth[current], 1):
                continue
            touched = [i for i, row in enumerate(rows) if current in row]
            for i in touched:
                partial[i] += rows[i][current] * step
                left[i] -= 1
            change[current] = step
            if all(abs(partial[i]) <= left[i] for i in touched) and search(position + 1):
                return True
            for i in touched:
                partial[i] -= rows[i][current] * step
                left[i] += 1
        return False

    if not search(0):
        return None
    return {name: value + change.get(name, 0) for name, value in truth.items()}


count = st.one_of(st.integers(1, 12), st.integers(10, 400))
month_tables = st.builds(
    table,
    st.dictionaries(
        st.tuples(
            st.sampled_from(CATEGORIES), st.sampled_from(CHANNELS), st.sampled_from(STATUSES)
        ),
        count,
        max_size=8,
    ),
    st.dictionaries(st.sampled_from(OUTCOMES), count, max_size=5),
)


@settings(max_examples=250, deadline=None)
@given(truth=month_tables, min_cell=st.integers(2, 15))
def test_nothing_small_is_published_or_recoverable(truth, min_cell):
    published = protect(truth, min_cell)
    withheld = [cell for cell in COLUMNS if published[cell] is None]

    assert list(published) == COLUMNS
    # (a) no small count is published; (c) what is published is exact.
    assert all(value is None or not 0 < value < min_cell for value in published.values())
    assert all(published[cell] in (None, truth[cell]) for cell in COLUMNS)
    assert {cell for cell in COLUMNS if 0 < truth[cell] < min_cell} <= set(withheld)
    # (b) no withheld cell, nor a small sum of two or three, follows from the rest...
    for size in (1, 2, 3):
        for group in combinations(withheld, size):
            if derivable(withheld, set(group)):
                assert size > 1 and sum(truth[c] for c in group) >= min_cell, group
    # ... and each could hold another value in a table that agrees with every published one.
    for cell in withheld:
        other = another_table(truth, withheld, cell)
        assert other is not None, cell
        assert other[cell] != truth[cell]
        assert all(other[c] == truth[c] for c in COLUMNS if c not in withheld)
        assert all(other[total] == sum(other[m] for m in members) for total, members in IDENTITIES)


@settings(max_examples=100, deadline=None)
@given(truth=month_tables, min_cell=st.integers(2, 15))
def test_the_result_depends_on_the_figures_only(truth, min_cell):
    backwards = dict(reversed(list(truth.items())))

    assert protect(backwards, min_cell) == protect(truth, min_cell)


@settings(max_examples=100, deadline=None)
@given(
    truth=st.builds(
        table,
        st.dictionaries(
            st.tuples(
                st.sampled_from(CATEGORIES), st.sampled_from(CHANNELS), st.sampled_from(STATUSES)
            ),
            st.integers(10, 400),
            max_size=8,
        ),
        st.dictionaries(st.sampled_from(OUTCOMES), st.integers(10, 400), max_size=5),
    )
)
def test_a_table_without_small_counts_is_published_whole(truth):
    assert protect(truth, 10) == truth


def withheld_cells(truth: dict[str, int], min_cell: int = 10) -> set[str]:
    return {cell for cell, value in protect(truth, min_cell).items() if value is None}


def test_a_single_small_cell_takes_a_second_one_with_it():
    truth = table({("consultation", "web", "unknown"): 40, ("consultation", "email", "unknown"): 3,
                   ("consultation", "phone", "unknown"): 25}, {})  # fmt: skip

    assert withheld_cells(truth) == {"channel_email", "channel_phone"}


def test_two_small_cells_whose_sum_is_small_are_not_left_alone():
    # 12 requests, 10 on the web: "the other two" would be 1 and 1, since zeros are published.
    truth = table({("consultation", "web", "unknown"): 10,
                   ("consultation", "telegram", "unknown"): 1,
                   ("consultation", "signal", "unknown"): 1}, {})  # fmt: skip

    assert withheld_cells(truth) == {"channel_web", "channel_telegram", "channel_signal"}


def test_a_small_sum_across_two_identities_is_caught():
    # resolved - assisted = referred + declined = 2.
    truth = table({}, {"left_country": 10, "hiding_in_country": 10, "referred": 1, "declined": 1})

    withheld = withheld_cells(truth)
    assert {"outcome_referred", "outcome_declined"} < withheld
    assert not derivable(sorted(withheld), {"outcome_referred", "outcome_declined"})


def test_a_withheld_total_with_every_member_published_takes_members_with_it():
    truth = table({("desertion", "web", "mobilised"): 20,
                   ("border_crossing", "telegram", "conscript"): 15,
                   ("consultation", "web", "unknown"): 20,
                   ("consultation", "telegram", "unknown"): 10}, {})  # fmt: skip

    withheld = secondary_suppression(truth, {"requests"}, 10)
    assert not derivable(sorted(withheld), {"requests"})
    assert any(cell.startswith("category_") for cell in withheld)
    assert any(cell.startswith("channel_") for cell in withheld)
    assert not any(cell.startswith(("outcome_", "service_status_")) for cell in withheld)


# The command and the page, on data like the published figures.

needs_db = pytest.mark.django_db
JANUARY = datetime(2024, 1, 15, 12, tzinfo=UTC)


def requests_received(when: datetime, count: int, **fields) -> list:
    return HelpRequestFactory.create_batch(count, received_at=when, **fields)


@pytest.fixture
def january_2024(db):
    """284 desertion requests and a few small groups, and 59 resolutions."""
    make_january_2024()


def make_january_2024() -> None:
    desertion = [
        ("web", "contract_wartime", 142),
        ("web", "mobilised", 58),
        ("telegram", "mobilised", 27),
        ("telegram", "contract_prewar", 28),
        ("telegram", "conscript", 15),
        ("signal", "conscript", 10),
        ("signal", "volunteer", 4),
    ]
    made = []
    for channel, status, n in desertion:
        made += requests_received(
            JANUARY, n, category="desertion", channel=channel, service_status=status
        )
    requests_received(
        JANUARY, 12, category="border_crossing", channel="web", service_status="unknown"
    )
    requests_received(
        JANUARY, 37, category="consultation", channel="web", service_status="civilian"
    )
    requests_received(
        JANUARY, 3, category="consultation", channel="email", service_status="civilian"
    )
    outcomes = ["left_country"] * 30 + ["hiding_in_country"] * 12 + ["referred"] * 15
    outcomes += ["detained"] * 2
    for request, outcome in zip(made, outcomes, strict=False):
        CaseFactory(
            request=request,
            state="resolved",
            outcome=outcome,
            resolved_at=datetime(2024, 1, 25, 9, tzinfo=UTC),
        )


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_stats", *args, stdout=out)
    return out.getvalue()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


JANUARY_PUBLISHED = {
    "month": "2024-01", "requests": "336", "desertion_related": "296", "resolved": "59",
    "assisted_desertions": "42",
    "category_desertion": "284", "category_border_crossing": "12", "category_consultation": "40",
    "service_status_conscript": "25", "service_status_mobilised": "85",
    "service_status_contract_prewar": "28", "service_status_contract_wartime": "142",
    "service_status_volunteer": "<10", "service_status_civilian": "0",
    "service_status_unknown": "<10",
    "channel_web": "249", "channel_telegram": "70", "channel_signal": "<10",
    "channel_email": "<10", "channel_phone": "0", "channel_other": "0",
    "outcome_left_country": "30", "outcome_hiding_in_country": "12",
    "outcome_consultation_given": "0", "outcome_referred": "<10", "outcome_lost_contact": "0",
    "outcome_returned_to_service": "0", "outcome_detained": "<10", "outcome_declined": "0",
}  # fmt: skip


@needs_db
def test_it_publishes_large_counts_exactly_and_withholds_small_ones(january_2024):
    rows = csv_rows(export("--from", "2023-12", "--to", "2024-02", "--format", "csv"))

    assert [row["month"] for row in rows] == ["2023-12", "2024-01", "2024-02"]
    assert rows[1] == JANUARY_PUBLISHED
    assert rows[0] == {"month": "2023-12", **dict.fromkeys(COLUMNS, "0")}
    assert rows[2] == {"month": "2024-02", **dict.fromkeys(COLUMNS, "0")}


@needs_db
def test_the_csv_has_one_column_per_figure(january_2024):
    text = export("--from", "2024-01", "--to", "2024-01", "--format", "csv")

    assert text.splitlines()[0] == ",".join(["month", *COLUMNS])
    assert text.splitlines()[0].startswith(
        "month,requests,desertion_related,resolved,assisted_desertions,category_desertion,"
    )


@needs_db
def test_json_and_csv_agree(january_2024):
    arguments = ["--from", "2023-11", "--to", "2024-03", "--min-cell", "13"]
    document = json.loads(export(*arguments, "--format", "json"))
    rows = csv_rows(export(*arguments, "--format", "csv"))

    assert set(document) == {"min_cell", "months"}
    assert document["min_cell"] == 13
    assert len(document["months"]) == len(rows) == 5
    for month, row in zip(document["months"], rows, strict=True):
        assert set(month) == {"month", *TOTALS, "by_category", "by_service_status",
                              "by_channel", "by_outcome"}  # fmt: skip
        flat = {total: month[total] for total in TOTALS}
        for prefix, slugs in BREAKDOWNS:
            key = "by_category" if prefix == "category" else f"by_{prefix}"
            assert list(month[key]) == slugs
            flat.update({f"{prefix}_{slug}": month[key][slug] for slug in slugs})
        assert row == {
            "month": month["month"],
            **{cell: "<13" if value is None else str(value) for cell, value in flat.items()},
        }
    # 12 hiding in the country is now below the threshold: withheld in both.
    assert document["months"][2]["by_outcome"]["hiding_in_country"] is None
    assert rows[2]["outcome_hiding_in_country"] == "<13"


@needs_db
def test_the_default_threshold_is_ten(january_2024):
    document = json.loads(export("--from", "2024-01", "--to", "2024-01", "--format", "json"))

    assert DEFAULT_MIN_CELL == 10
    assert document["min_cell"] == 10
    assert document["months"][0]["by_category"]["desertion"] == 284
    assert document["months"][0]["by_outcome"]["detained"] is None


@needs_db
def test_an_export_is_audited_without_any_figure(january_2024):
    text = export("--from", "2023-12", "--to", "2024-02", "--format", "json")

    entry = AuditEntry.objects.get(action="stats.export")
    assert entry.actor == ""
    assert entry.detail == {"from": "2023-12", "to": "2024-02", "format": "json", "min_cell": 10}
    assert entry.target == ""
    assert "284" in text and "284" not in json.dumps(entry.detail)


this_month = label(current_month())
next_month = label(shift(current_month(), 1))


@pytest.mark.parametrize(("arguments", "message"), [
    (["--from", "2024-13", "--to", "2024-02"], "'2024-13' is not a month"),
    (["--from", "2024-01", "--to", "Feb"], "'Feb' is not a month"),
    (["--from", "2024-01", "--to", next_month], "in the future"),
    (["--from", "2024-03", "--to", "2024-01"], "--from 2024-03 is after --to 2024-01"),
    (["--from", "2024-01", "--to", this_month], "not over yet"),
    (["--from", "2024-01", "--to", "2024-02", "--min-cell", "1"],
     r"--min-cell 1 is below the smallest published count, 10 \(MIN_PUBLISHED_CELL\)"),
    (["--from", "2024-01", "--to", "2024-02", "--min-cell", "-5"], "--min-cell -5 is below"),
    (["--from", "2024-01", "--to", "2024-02", "--min-cell", "2"], "--min-cell 2 is below"),
    (["--from", "2024-01", "--to", "2024-02", "--format", "xml"], "invalid choice: 'xml'"),
])  # fmt: skip
@needs_db
def test_a_bad_request_is_a_clear_error_that_prints_and_records_nothing(arguments, message):
    out = io.StringIO()
    if "--format" not in arguments:
        arguments = [*arguments, "--format", "csv"]
    with pytest.raises(CommandError, match=message):
        call_command("export_stats", *arguments, stdout=out)

    assert out.getvalue() == ""
    assert not AuditEntry.objects.filter(action="stats.export").exists()


def test_a_bad_request_exits_non_zero_from_the_shell():
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage), "export_stats", "--from", "2024-13", "--to", "2024-02",
         "--format", "csv"],
        capture_output=True, text=True, env={**os.environ, "DEBUG": "1"}, timeout=60,
    )  # fmt: skip

    assert done.returncode != 0
    assert done.stdout == ""
    assert "'2024-13' is not a month" in done.stderr


# The page.

URL = "/staff/exports/"
FORM = {"from_month": "2023-12", "to_month": "2024-02", "file_format": "csv", "min_cell": "10",
        "headers": "codes"}  # fmt: skip


@needs_db
def test_it_shows_the_form_to_an_admin(client, dave):
    sign_in(client, dave)
    response = client.get(URL)

    assert response.status_code == 200
    assert b'name="from_month"' in response.content
    assert b'name="min_cell" value="10"' in response.content
    assert "Content-Disposition" not in response


@needs_db
def test_it_downloads_the_export_for_an_admin(client, dave, january_2024):
    sign_in(client, dave)
    response = client.post(URL, FORM)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="tropa-stats-2023-12-2024-02.csv"'
    )
    assert csv_rows(response.content.decode())[1] == JANUARY_PUBLISHED
    assert "no-store" in response["Cache-Control"]


@needs_db
def test_a_link_downloads_json(client, dave, january_2024):
    sign_in(client, dave)
    response = client.get(URL, {**FORM, "file_format": "json"})

    assert response["Content-Disposition"].endswith('filename="tropa-stats-2023-12-2024-02.json"')
    assert response.content.decode() == export(
        "--from", "2023-12", "--to", "2024-02", "--format", "json"
    )


@needs_db
def test_a_download_is_audited_with_its_admin_and_no_figure(client, dave, january_2024):
    sign_in(client, dave)
    client.post(URL, {**FORM, "min_cell": "12"})

    entry = AuditEntry.objects.get(action="stats.export")
    assert entry.actor == "dave"
    assert entry.detail == {"from": "2023-12", "to": "2024-02", "format": "csv", "min_cell": 12}
    assert not any(str(n) in json.dumps(entry.detail) for n in (284, 336, 296, 249, 142))


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"from_month": "2024-13"}, "from_month", "Enter a past month as YYYY-MM"),
    ({"to_month": next_month}, "to_month", "Enter a past month as YYYY-MM"),
    ({"to_month": this_month}, "to_month", "this month’s figures still change"),
    ({"from_month": "2024-03"}, "to_month", "The last month comes before the first."),
    ({"min_cell": "1"}, "min_cell", "The smallest published count is 10 here"),
    ({"min_cell": "9"}, "min_cell", "The smallest published count is 10 here"),
    ({"file_format": "ods"}, "file_format", "Select a valid choice"),
    ({"headers": "fr"}, "headers", "Select a valid choice"),
])  # fmt: skip
@needs_db
def test_invalid_input_shows_the_form_again_and_exports_nothing(
    client, dave, change, field, message
):
    sign_in(client, dave)
    response = client.post(URL, {**FORM, **change})

    assert response.status_code == 400
    assert "Content-Disposition" not in response
    # The field's own error, in the language of the page.
    errors = re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.content.decode())
    assert any(message in error for error in errors)
    assert field in response.context["form"].errors
    assert not AuditEntry.objects.filter(action="stats.export").exists()


@needs_db
def test_caseworkers_get_403(client, alice):
    sign_in(client, alice)

    assert client.get(URL).status_code == 403
    assert client.post(URL, FORM).status_code == 403
    assert client.get(URL, FORM).status_code == 403
    assert not AuditEntry.objects.filter(action="stats.export").exists()


@needs_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL, FORM)

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/?next=")
