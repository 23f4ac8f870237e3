"""
What the pages and sentences may show: the export's suppression on every
figure, nothing computed from a withheld one, and no withheld figure anywhere.

The properties are checked over random reports (hypothesis, as for the
export) on the pure function, and over the rendered month page; the figures
of a real month page are compared with the report function's.
"""

import csv
import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.columns import flatten
from reports.exports import protect
from reports.models import MonthlyReport
from reports.months import shift
from reports.publication import TRACKED, History, protect_parts, publish, withheld_paths
from reports.sentences import month_sentences
from reports.services import monthly_report, store_report
from tests.factories import CaseFactory
from tests.staffing import sign_in

CATEGORIES = ["desertion", "border_crossing", "consultation"]
STATUSES = ["conscript", "mobilised", "contract_prewar", "contract_wartime", "volunteer",
            "civilian", "unknown"]  # fmt: skip
CHANNELS = ["web", "telegram", "signal", "email", "phone", "other"]
LOCATIONS = ["home_country", "occupied_territory", "front_line", "abroad", "unknown"]
OUTCOMES = ["left_country", "hiding_in_country", "consultation_given", "referred",
            "lost_contact", "returned_to_service", "detained", "declined"]  # fmt: skip
MONTH = "2024-01"

count = st.one_of(st.integers(1, 12), st.integers(10, 400))


def split(total: int, parts: int, draw) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    edges = [0, *cuts, total]
    return [b - a for a, b in pairwise(edges)]


@st.composite
def reports(draw) -> dict:
    """A report of SPEC.md's shape whose parts add up as the real ones do."""
    groups = draw(st.dictionaries(
        st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(CHANNELS),
                  st.sampled_from(STATUSES), st.sampled_from(LOCATIONS)),
        count, max_size=8,
    ))  # fmt: skip
    outcomes = draw(st.dictionaries(st.sampled_from(OUTCOMES), count, max_size=5))
    requests = sum(groups.values())
    related = {k: n for k, n in groups.items() if k[0] != "consultation"}
    by_outcome = {o: outcomes.get(o, 0) for o in OUTCOMES}
    assisted = by_outcome["left_country"] + by_outcome["hiding_in_country"]
    desertion = sum(n for k, n in groups.items() if k[0] == "desertion")
    last_year = draw(st.one_of(st.just(0), count))
    answered, waiting, unrecorded = split(requests, 3, draw)
    cohort = []
    for back in range(11, -1, -1):
        parts = draw(st.lists(st.one_of(st.just(0), count), min_size=10, max_size=10))
        cohort.append({
            "month": f"{shift(date(2024, 1, 1), -back):%Y-%m}",
            "as_of": f"{shift(date(2024, 1, 1), 11 - back):%Y-%m}",
            "received": sum(parts) if back else requests,
            "by_outcome": dict(zip(OUTCOMES, parts[:8], strict=True)),
            "rejected": parts[8],
            "pending": parts[9] if back else requests - sum(parts[:9]),
        })  # fmt: skip
    if cohort[-1]["pending"] < 0:
        cohort[-1].update(received=sum(parts), pending=parts[9])
    return {
        "month": MONTH,
        "requests": requests,
        "by_category": {c: sum(n for k, n in groups.items() if k[0] == c) for c in CATEGORIES},
        "desertion_related": sum(related.values()),
        "by_service_status": {s: sum(n for k, n in related.items() if k[2] == s) for s in STATUSES},
        "by_channel": {c: sum(n for k, n in groups.items() if k[1] == c) for c in CHANNELS},
        "by_location": {x: sum(n for k, n in groups.items() if k[3] == x) for x in LOCATIONS},
        "by_legal_article": {a: draw(st.integers(0, requests)) for a in ("332", "337", "338")},
        "resolved": sum(by_outcome.values()),
        "by_outcome": by_outcome,
        "assisted_desertions": assisted,
        "share_abroad": by_outcome["left_country"] / assisted if assisted else None,
        "same_month_last_year": {
            "desertion": last_year,
            "ratio": round(desertion / last_year, 2) if last_year else None,
        },
        "cumulative": {
            "requests": requests + draw(st.integers(0, 30_000)),
            "desertion_related": sum(related.values()) + draw(st.integers(0, 3000)),
            "assisted_desertions": assisted + draw(st.integers(0, 600)),
        },
        "record_desertion_month": draw(st.booleans()),
        "cohort": cohort,
        "first_response": {
            "answered": answered,
            "waiting": waiting,
            "unrecorded": unrecorded,
            "median_hours": 5.0 if answered else None,
            "p90_hours": 30.0 if answered else None,
        },
    }


pasts = st.builds(
    lambda withheld: History(first=date(2022, 3, 1), withheld=withheld),
    st.dictionaries(
        st.sampled_from([f"{shift(date(2022, 3, 1), i):%Y-%m}" for i in range(22)]),
        st.frozensets(st.sampled_from(TRACKED), min_size=1),
        max_size=4,
    ),
)


def at(tree, path: str):
    """The value at a dotted path; cohort rows are found by their month."""
    for key in path.split("."):
        if isinstance(tree, list):
            tree = next(row for row in tree if row["month"] == key)
        else:
            tree = tree[key]
    return tree


def parts_are_safe(total, parts: dict, shown_total, shown: dict, min_cell: int) -> bool:
    hidden = [key for key, value in shown.items() if value is None]
    if any(0 < parts[key] < min_cell and shown[key] is not None for key in parts):
        return False
    if shown_total is None:
        return bool(hidden) or not parts
    if not hidden:
        return True
    if len(hidden) == len(parts) and len(parts) >= 2:
        # Every part withheld, zeros too: the total says nothing of any one part.
        return True
    return len(hidden) >= 2 and sum(parts[k] for k in hidden) >= min_cell + len(hidden) - 1


@settings(max_examples=100, deadline=None)
@given(report=reports(), past=pasts, min_cell=st.integers(2, 15))
def test_published_figures_are_the_reports_with_the_exports_suppression(report, past, min_cell):
    published = publish(report, past, min_cell)
    cells = protect(flatten(report), min_cell)

    # The export's cells, withheld exactly as the export withholds them.
    assert flatten(published) == cells
    # Every published figure is the report's own.
    for path in figure_paths(published):
        value = at(published, path)
        if value is not None:
            assert value == at(report, path), path
    # Nothing computed from a withheld figure.
    if cells["outcome_left_country"] is None or cells["assisted_desertions"] is None:
        assert published["share_abroad"] is None
    if cells["category_desertion"] is None:
        assert published["same_month_last_year"]["ratio"] is None
        assert published["record_desertion_month"] is None
    for total, value in published["cumulative"].items():
        if total in TRACKED and value is not None:
            assert cells[total] is not None
            assert past.all_published(total, MONTH)
    # Each set of parts is protected like a row of the export.
    location_total = cells["requests"]
    assert parts_are_safe(report["requests"], report["by_location"], location_total,
                          published["by_location"], min_cell)  # fmt: skip
    response = {k: report["first_response"][k] for k in ("answered", "waiting", "unrecorded")}
    shown = {k: published["first_response"][k] for k in response}
    assert parts_are_safe(report["requests"], response, location_total, shown, min_cell)
    if shown["answered"] is None or shown["answered"] < min_cell:
        assert published["first_response"]["median_hours"] is None
    # Legal articles: no small one shown, and never one withheld alone.
    articles = published["by_legal_article"]
    assert not any(0 < report["by_legal_article"][a] < min_cell and articles[a] is not None
                   for a in articles)  # fmt: skip
    assert sum(value is None for value in articles.values()) != 1
    for row, shown_row in zip(report["cohort"], published["cohort"], strict=True):
        parts = {**row["by_outcome"], "rejected": row["rejected"], "pending": row["pending"]}
        seen = {**shown_row["by_outcome"], "rejected": shown_row["rejected"],
                "pending": shown_row["pending"]}  # fmt: skip
        assert parts_are_safe(row["received"], parts, shown_row["received"], seen, min_cell)
        if past.is_withheld(row["month"], "requests"):
            assert shown_row["received"] is None


NOT_FIGURES = {"month", "min_cell", "since"}


def figure_paths(tree, prefix: str = "") -> list[str]:
    """Every figure's dotted path (labels such as months left out)."""
    if isinstance(tree, dict):
        return [
            p
            for key, value in tree.items()
            if key not in NOT_FIGURES
            for p in figure_paths(value, f"{prefix}{key}.")
        ]
    if isinstance(tree, list):
        return [p for row in tree for p in figure_paths(row, f"{prefix}{row['month']}.")]
    return [prefix.rstrip(".")]


SPAN = re.compile(
    r'<span class="figure( withheld)?" data-figure="([^"]+)"( data-withheld="1")?>([^<]*)</span>'
)


def shown_number(text: str, language: str = "en") -> float:
    text = text.replace("\xa0", "").replace("\u202f", "").replace(" ", "").rstrip("%h")
    text = text.replace(",", "") if language == "en" else text.replace(",", ".")
    return float(text)


@settings(max_examples=100, deadline=None)
@given(report=reports(), past=pasts)
def test_no_withheld_figure_is_ever_in_a_sentence(report, past):
    published = publish(report, past)

    for sentence in month_sentences(published):
        html = str(sentence.html)
        for withheld, path, _flag, text in SPAN.findall(html):
            value = at(published, path)
            assert not withheld and value is not None, path
            expected = round(value * 100) if path == "share_abroad" else value
            assert shown_number(text) == pytest.approx(expected), path
        # Every number of the sentence is a tagged figure (or a year in a month's name).
        bare = re.sub(r"\b(19|20)\d\d\b", "", SPAN.sub("", html))
        assert not re.search(r"\d", bare), html


def test_a_small_share_of_locations_takes_a_second_one_with_it():
    total, shown = protect_parts(
        60, {"home_country": 40, "abroad": 3, "front_line": 17, "unknown": 0}, 10
    )

    assert total == 60
    assert shown == {"home_country": 40, "abroad": None, "front_line": None, "unknown": 0}


def test_a_withheld_total_takes_a_part_with_it():
    total, shown = protect_parts(60, {"a": 40, "b": 20}, 10, total_withheld=True)

    assert total is None
    assert None in shown.values()


# The month page, rendered.

pytestmark = pytest.mark.django_db


def page_figures(html: str) -> list[tuple[bool, str, str]]:
    return [(bool(withheld), path, text) for withheld, path, _flag, text in SPAN.findall(html)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(report=reports(), past=pasts)
def test_no_withheld_figure_appears_on_the_month_page(client, carol_session, report, past):
    published = publish(report, past)
    MonthlyReport.objects.update_or_create(
        month=date(2024, 1, 1),
        defaults={"data": report, "published": published, "generated_at": timezone.now()},
    )

    html = carol_session.get(f"/staff/reports/{MONTH}/").content.decode()

    withheld = set(withheld_paths(published))
    seen = page_figures(html)
    assert seen
    for is_withheld, path, text in seen:
        value = at(published, path)
        if is_withheld:
            assert value is None, path
        else:
            assert path not in withheld, path
            expected = round(value * 100) if path == "share_abroad" else value
            assert shown_number(text) == pytest.approx(expected, abs=0.51), path


@pytest.fixture
def carol_session(carol):
    session = Client()
    session.cookies["django_language"] = "en"
    sign_in(session, carol)
    return session


JANUARY = datetime(2024, 1, 10, 9, tzinfo=UTC)


def test_every_figure_on_the_month_page_equals_the_report_functions(client, carol):
    for n in range(40):
        CaseFactory(
            request__received_at=JANUARY + timedelta(hours=n),
            request__category=["desertion", "consultation", "border_crossing"][n % 3],
            request__channel=["web", "telegram"][n % 2],
        )
    for _ in range(3):
        CaseFactory(request__received_at=JANUARY, request__channel="email")  # a small cell
    store_report(date(2024, 1, 1))
    report = monthly_report(date(2024, 1, 1))
    sign_in(client, carol)

    html = client.get(f"/staff/reports/{MONTH}/").content.decode()

    seen = page_figures(html)
    assert {path for _w, path, _t in seen} >= {"requests", "desertion_related", "by_channel.web"}
    for is_withheld, path, text in seen:
        if is_withheld:
            continue
        expected = at(report, path)
        if path == "share_abroad":
            expected = round(expected * 100)
        assert shown_number(text) == pytest.approx(expected, abs=0.51), path
    # The small cell and the one withheld with it are named as withheld, never shown.
    assert (True, "by_channel.email", "withheld") in seen
    assert "January 2024: 43 requests received" in re.sub(r"<[^>]+>", "", html)


def test_a_running_total_is_withheld_after_a_withheld_month(client, carol):
    december, january = datetime(2023, 12, 5, tzinfo=UTC), JANUARY
    for _ in range(3):  # 3 people helped in December: withheld
        CaseFactory(
            request__received_at=december, state="resolved", outcome="left_country",
            resolved_at=december,
        )  # fmt: skip
    for _ in range(30):
        CaseFactory(request__received_at=december, request__category="consultation")
    for _ in range(20):
        CaseFactory(
            request__received_at=january, state="resolved", outcome="left_country",
            resolved_at=january,
        )  # fmt: skip

    published = store_report(date(2024, 1, 1)).published

    assert published["assisted_desertions"] == 20
    # 23 - 20 would give December's 3 away.
    assert published["cumulative"]["assisted_desertions"] is None
    assert published["cumulative"]["requests"] == 53
    sign_in(client, carol)
    html = client.get(f"/staff/reports/{MONTH}/").content.decode()
    assert "23 in all" not in html
    assert (True, "cumulative.assisted_desertions", "withheld") in page_figures(html)


def test_numbers_follow_the_language_of_the_page(client, carol):
    MonthlyReport.objects.create(
        month=date(2024, 1, 1),
        data={},
        published={**publish(fixed_report(), History(None, {})), "requests": 12345},
        generated_at=timezone.now(),
    )
    sign_in(client, carol)

    english = client.get(f"/staff/reports/{MONTH}/").content.decode()
    client.cookies["django_language"] = "ru"
    russian = client.get(f"/staff/reports/{MONTH}/").content.decode()

    assert 'data-figure="requests">12,345<' in english
    assert 'data-figure="requests">12\xa0345<' in russian
    assert 'data-figure="same_month_last_year.ratio">1.50<' in english
    assert 'data-figure="same_month_last_year.ratio">1,50<' in russian


def fixed_report() -> dict:
    """A report with every figure large enough to publish."""
    by_outcome = dict.fromkeys(OUTCOMES, 0) | {"left_country": 30, "hiding_in_country": 20}
    return {
        "month": MONTH, "requests": 400, "desertion_related": 350, "resolved": 50,
        "by_category": {"desertion": 300, "border_crossing": 50, "consultation": 50},
        "by_service_status": dict.fromkeys(STATUSES, 50),
        "by_channel": dict.fromkeys(CHANNELS, 0) | {"web": 200, "telegram": 200},
        "by_location": dict.fromkeys(LOCATIONS, 0) | {"home_country": 400},
        "by_legal_article": {"332": 0, "337": 100, "338": 300},
        "by_outcome": by_outcome, "assisted_desertions": 50, "share_abroad": 0.6,
        "same_month_last_year": {"desertion": 200, "ratio": 1.5},
        "cumulative": {"requests": 4000, "desertion_related": 1000, "assisted_desertions": 300},
        "record_desertion_month": False,
        "cohort": [{"month": MONTH, "as_of": "2024-12", "received": 400,
                    "by_outcome": by_outcome, "rejected": 0, "pending": 350}],
        "first_response": {"answered": 400, "waiting": 0, "unrecorded": 0, "median_hours": 5.0,
                           "p90_hours": 30.0},
    }  # fmt: skip


def test_month_pages_link_to_the_months_before_and_after(client, carol):
    for month in ("2023-11", "2024-01", "2024-03"):
        MonthlyReport.objects.create(
            month=date.fromisoformat(f"{month}-01"), data={}, published={},
            generated_at=timezone.now(),
        )  # fmt: skip
    sign_in(client, carol)

    html = client.get("/staff/reports/2024-01/").content.decode()

    assert 'rel="prev" href="/staff/reports/2023-11/"' in html
    assert 'rel="next" href="/staff/reports/2024-03/"' in html
    assert "prepared for publication" in html  # a report stored before publication existed


def test_a_figure_equal_to_the_smallest_published_count_is_published(client, carol):
    """K itself is not small: exactly 10 desertion requests (and 10 abroad) are
    shown, on the page and in the export alike."""
    import io

    from django.core.management import call_command

    for n in range(10):
        CaseFactory(request__received_at=JANUARY + timedelta(hours=n), request__location="abroad")
    for n in range(12):
        CaseFactory(
            request__received_at=JANUARY + timedelta(hours=n),
            request__category="consultation",
            request__channel="telegram",
        )
    published = store_report(date(2024, 1, 1)).published
    sign_in(client, carol)

    seen = page_figures(client.get(f"/staff/reports/{MONTH}/").content.decode())
    out = io.StringIO()
    call_command(
        "export_stats", "--from", MONTH, "--to", MONTH, "--format", "csv", "--min-cell", "10",
        stdout=out,
    )  # fmt: skip
    exported = next(iter(csv.DictReader(io.StringIO(out.getvalue()))))

    assert published["by_category"]["desertion"] == 10
    assert published["by_channel"]["web"] == 10
    assert published["by_location"]["abroad"] == 10
    shown = ("by_category.desertion", "by_channel.web", "desertion_related", "by_location.abroad")
    for path in shown:
        assert (False, path) in {(withheld, p) for withheld, p, _t in seen}, path
    assert exported["category_desertion"] == "10"
    assert exported["channel_web"] == "10"
    assert exported["desertion_related"] == "10"
