"""
The attacker's audit of everything the reports publish, taken together.

An attacker holds every stored month's page (its figures, its sentences), the
dashboard (tiles, the category chart's months, the 24-month service status
totals), and statistics exports of any range, in JSON, CSV and XLSX, at any
K the floor allows. Every figure is a linear constraint on the true counts:

- a published figure fixes its count; a withheld one holds at least 1, since
  zeros are published (a figure the rules withheld at zero may hold 0);
- the month's identities (SPEC.md): requests = categories = channels =
  locations = first-response counts; desertion-related = desertion + border
  crossing = service statuses; resolved = outcomes; helped to desert = left
  the country + hiding; a legal article at most the requests;
- running totals are sums of the months; the dashboard's service status
  totals are sums over its months; a share abroad fixes left / helped, a ratio
  a year earlier fixes desertion / desertion (to its rounding); a record month
  beats every earlier one;
- a cohort row (received month R, followed to the end of month H) is, for each
  way of ending, a sum of latent counts d(R, M) "received in R, ended so in M"
  for M from R to H; the same d(R, M) add up, over R, to month M's
  resolutions by outcome; the row's parts and "no outcome yet" add up to R's
  requests.

For every withheld figure the lowest and highest value that agrees with all
of it is found by linear programming (scipy's HiGHS); a range lying wholly in
1..K-1 (a single value there included) is a finding. So is a difference of
1..K-1 between two published figures about nested groups of requests (the same
cohort row on two pages, a running total and an earlier one, a total and a
part, a total and its published parts), and two places publishing different
values for one figure.

Built from the public paths only: the month pages over HTTP, the stored
figures they are rendered from, the dashboard's selectors and presentation,
and `export_stats` for several ranges and formats.
"""

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from math import ceil, floor

import numpy as np
from django.core.management import call_command
from openpyxl import load_workbook
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix

from reports import presentation
from reports.models import MonthlyReport
from reports.months import label, parse_label, shift
from reports.selectors import dashboard
from tests.test_export_stats import (
    CATEGORIES,
    CHANNELS,
    COLUMNS,
    IDENTITIES,
    OUTCOMES,
    STATUSES,
)

LOCATIONS = ["home_country", "occupied_territory", "front_line", "abroad", "unknown"]
ARTICLES = ["332", "337", "338"]
RESPONSES = ["answered", "waiting", "unrecorded"]
# How a cohort row's requests can have ended; "pending" is the rest.
ENDINGS = [*OUTCOMES, "rejected"]
PREFIXES = {
    "by_category": "category",
    "by_service_status": "service_status",
    "by_channel": "channel",
    "by_outcome": "outcome",
}
CUMULATIVE = {
    "requests": "requests",
    "desertion_related": "desertion_related",
    "assisted_desertions": "assisted_desertions",
}
NOT_COUNTS = {"median_hours", "p90_hours"}


@dataclass
class Figure:
    value: int | None  # None: withheld everywhere it appears
    truth: int | None
    places: set[str] = field(default_factory=set)


@dataclass
class Publication:
    """Every figure published anywhere, by what it counts."""

    min_cell: int
    figures: dict[tuple, Figure] = field(default_factory=dict)
    # Facts that are not a count of their own: (kind, month, value).
    facts: set[tuple] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)
    unmodelled: list[str] = field(default_factory=list)

    def add(self, key: tuple, value, truth, place: str) -> None:
        figure = self.figures.setdefault(key, Figure(value=None, truth=truth))
        figure.places.add(place)
        if truth is not None and figure.truth is None:
            figure.truth = truth
        if value is None:
            return
        if figure.value is not None and figure.value != value:
            self.conflicts.append(f"{key}: {figure.value} and {value} ({place})")
        figure.value = value


# Reading the published figures of one month page (its stored data).


def page_figures(month: str, tree: dict) -> dict[str, tuple]:
    """Each dotted path of a published month to the count it publishes (or a fact)."""
    paths: dict[str, tuple] = {}
    for total in ("requests", "desertion_related", "resolved", "assisted_desertions"):
        paths[total] = ("cell", month, total)
    for key, prefix in PREFIXES.items():
        for slug in tree.get(key, {}):
            paths[f"{key}.{slug}"] = ("cell", month, f"{prefix}_{slug}")
    for slug in tree.get("by_location", {}):
        paths[f"by_location.{slug}"] = ("location", month, slug)
    for slug in tree.get("by_legal_article", {}):
        paths[f"by_legal_article.{slug}"] = ("article", month, slug)
    for part in RESPONSES:
        paths[f"first_response.{part}"] = ("response", month, part)
    for total in CUMULATIVE:
        paths[f"cumulative.{total}"] = ("cumulative", month, total)
    earlier = label(shift(parse_label(month), -12))
    paths["same_month_last_year.desertion"] = ("cell", earlier, "category_desertion")
    paths["share_abroad"] = ("share", month)
    paths["same_month_last_year.ratio"] = ("ratio", month)
    paths["record_desertion_month"] = ("record", month)
    for row in tree.get("cohort", []):
        received, until = row["month"], row.get("as_of", month)
        prefix = f"cohort.{received}"
        paths[f"{prefix}.received"] = ("cell", received, "requests")
        for ending in OUTCOMES:
            paths[f"{prefix}.by_outcome.{ending}"] = ("cohort", received, until, ending)
        paths[f"{prefix}.rejected"] = ("cohort", received, until, "rejected")
        paths[f"{prefix}.pending"] = ("pending", received, until)
    return paths


def at(tree, path: str):
    for part in path.split("."):
        if isinstance(tree, list):
            tree = next((row for row in tree if row["month"] == part), None)
        elif isinstance(tree, dict):
            tree = tree.get(part)
        if tree is None:
            return None
    return tree


def add_page_data(publication: Publication, month: str, published: dict, data: dict) -> None:
    for path, key in page_figures(month, published).items():
        value, truth = at(published, path), at(data, path)
        if key[0] in ("share", "ratio", "record"):
            if value is not None:
                publication.facts.add((*key, value))
            continue
        publication.add(key, value, truth, f"page {month}")


FIGURE = re.compile(
    r'<span class="figure( withheld)?" data-figure="([^"]+)"(?: data-withheld="1")?>([^<]*)</span>'
)


def _number(path: str, text: str) -> float | int:
    text = text.replace("\xa0", "").replace("\u202f", "").replace(" ", "").rstrip("%")
    if path.endswith("ratio"):
        return float(text.replace(",", "") if "." in text else text.replace(",", "."))
    return int(re.sub(r"\D", "", text))


def add_page_html(publication: Publication, month: str, html: str, published: dict) -> None:
    """Every figure the page (its tables and sentences) shows, checked against its data."""
    paths = page_figures(month, published)
    for withheld, path, text in FIGURE.findall(html):
        if path.rsplit(".", 1)[-1] in NOT_COUNTS:
            continue
        key = paths.get(path)
        if key is None:
            publication.unmodelled.append(f"page {month}: {path}")
            continue
        value = None if withheld else _number(path, text)
        if key[0] == "share":
            if value is not None:
                publication.facts.add(("share_percent", month, value))
        elif key[0] == "ratio":
            if value is not None:
                publication.facts.add(("ratio", month, value))
        else:
            publication.add(key, value, None, f"page {month} html")


# Exports.


def export_rows(file_format: str, first: str, last: str, min_cell: int | None) -> list[dict]:
    """An export through the command, as {column: count or None} per month."""
    arguments = ["--from", first, "--to", last, "--format", file_format]
    if min_cell is not None:
        arguments += ["--min-cell", str(min_cell)]
    if file_format == "xlsx":
        out = io.BytesIO()
        call_command("export_stats", *arguments, stdout=out)
        sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
        # Read-only sheets drop a row's trailing empty (withheld) cells.
        width = len(COLUMNS) + 1
        rows = [[*row, *[None] * (width - len(row))] for row in sheet.values]
        return [
            # The month is a date in the workbook (shown as "January 2024").
            {"month": f"{row[0]:%Y-%m}", **{c: v for c, v in zip(COLUMNS, row[1:], strict=True)}}
            for row in rows[1:]
        ]
    out = io.StringIO()
    call_command("export_stats", *arguments, stdout=out)
    if file_format == "csv":
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        return [
            {"month": row["month"], **{c: None if row[c].startswith("<") else int(row[c])
                                       for c in COLUMNS}}
            for row in rows
        ]  # fmt: skip
    document = json.loads(out.getvalue())
    flat = []
    for row in document["months"]:
        cells = {total: row[total] for total in COLUMNS[:4]}
        for key, prefix in PREFIXES.items():
            cells.update({f"{prefix}_{slug}": n for slug, n in row[key].items()})
        flat.append({"month": row["month"], **cells})
    return flat


def add_export(publication, file_format, first, last, min_cell=None) -> None:
    for row in export_rows(file_format, first, last, min_cell):
        for column in COLUMNS:
            publication.add(
                ("cell", row["month"], column),
                row[column],
                None,
                f"export {first}..{last} {file_format} K={min_cell or 'floor'}",
            )


# The dashboard.


def add_dashboard(publication: Publication) -> None:
    data = dashboard()
    # The rows name their months in words; the window gives each row's month.
    rows = presentation.category_rows(data)
    for shown, (_words, counts) in zip(data.window, rows, strict=True):
        if shown not in data.by_report:
            continue
        month = label(shown)
        for category, count in counts.items():
            publication.add(("cell", month, f"category_{category}"), count, None, "dashboard")
    window = tuple(label(m) for m in data.window if m in data.by_report)
    totals = presentation.status_totals(data)
    for status, (_label, total) in zip(presentation.STATUS_ORDER, totals, strict=True):
        publication.add(("status_window", window, status), total, None, "dashboard")
    for report in data.stored:
        month = label(report.month)
        for total in ("requests", "desertion_related", "resolved"):
            publication.add(("cell", month, total), report.published.get(total), None, "dashboard")
        if report.published.get("record_desertion_month"):
            publication.facts.add(("record", month, True))


def collect(client, min_cell: int, export_ranges: list[tuple[str, str, int | None]]) -> Publication:
    """Everything published, through the public paths; `client` is signed in as a coordinator."""
    publication = Publication(min_cell=min_cell)
    for report in MonthlyReport.objects.order_by("month"):
        month = label(report.month)
        add_page_data(publication, month, report.published, report.data)
        response = client.get(f"/staff/reports/{month}/")
        assert response.status_code == 200, month
        add_page_html(publication, month, response.content.decode(), report.published)
    assert client.get("/staff/dashboard/").status_code == 200
    add_dashboard(publication)
    for first, last, k in export_ranges:
        for file_format in ("json", "csv", "xlsx"):
            add_export(publication, file_format, first, last, k)
    return publication


# The linear program.


class Model:
    """Variables (figures and latent counts) and linear rows over them."""

    def __init__(self) -> None:
        self.index: dict[tuple, int] = {}
        self.eq: list[tuple[dict[int, float], float]] = []
        self.ub: list[tuple[dict[int, float], float]] = []

    def var(self, key: tuple) -> int:
        return self.index.setdefault(key, len(self.index))

    def equal(self, terms: dict[tuple, float], value: float = 0.0) -> None:
        self.eq.append((self._row(terms), value))

    def at_most(self, terms: dict[tuple, float], value: float = 0.0) -> None:
        self.ub.append((self._row(terms), value))

    def _row(self, terms: dict[tuple, float]) -> dict[int, float]:
        row: dict[int, float] = defaultdict(float)
        for key, coefficient in terms.items():
            row[self.var(key)] += coefficient
        return row


def _months(publication: Publication) -> list[str]:
    """The months with requests figures (a year-earlier figure may name an earlier one)."""
    return sorted(
        {key[1] for key in publication.figures if key[:1] + key[2:] == ("cell", "requests")}
    )


def build(publication: Publication) -> Model:
    model = Model()
    figures = publication.figures
    for key in figures:
        model.var(key)
    stored = sorted({key[1] for key in figures if key[0] in ("location", "response")})
    months = _months(publication)
    cell = lambda month, column: ("cell", month, column)  # noqa: E731
    for month in months:
        for total, members in IDENTITIES:
            model.equal({cell(month, total): 1, **{cell(month, m): -1 for m in members}})
    for month in stored:
        model.equal({cell(month, "requests"): 1, **{("location", month, s): -1 for s in LOCATIONS}})
        model.equal({cell(month, "requests"): 1, **{("response", month, p): -1 for p in RESPONSES}})
        for article in ARTICLES:
            model.at_most({("article", month, article): 1, cell(month, "requests"): -1})
    first = months[0]
    for key in figures:
        if key[0] == "cumulative":
            _kind, month, total = key
            terms = {key: 1.0}
            for other in months:
                if first <= other <= month:
                    terms[cell(other, CUMULATIVE[total])] = -1.0
            model.equal(terms)
        elif key[0] == "status_window":
            _kind, window, status = key
            model.equal({key: 1, **{cell(m, f"service_status_{status}"): -1 for m in window}})
    _cohorts(model, publication, months)
    _facts(model, publication, months)
    return model


def _ended(received: str, month: str, ending: str) -> tuple:
    """Latent: requests received in `received` that ended so during `month`."""
    return ("ended", received, month, ending)


def _cohorts(model: Model, publication: Publication, months: list[str]) -> None:
    for key in list(publication.figures):
        if key[0] == "cohort":
            _kind, received, until, ending = key
            between = [m for m in months if received <= m <= until]
            model.equal({key: 1, **{_ended(received, m, ending): -1 for m in between}})
        elif key[0] == "pending":
            _kind, received, until = key
            parts = {("cohort", received, until, ending): 1 for ending in ENDINGS}
            model.equal({key: 1, **parts, ("cell", received, "requests"): -1})
    # Month M's resolutions by outcome are those of every month received up to M.
    for month in months:
        for outcome in OUTCOMES:
            terms = {("cell", month, f"outcome_{outcome}"): 1.0}
            terms.update({_ended(r, month, outcome): -1.0 for r in months if r <= month})
            model.equal(terms)


def _facts(model: Model, publication: Publication, months: list[str]) -> None:
    for fact in publication.facts:
        kind, month, value = fact
        left, helped = (
            ("cell", month, "outcome_left_country"),
            ("cell", month, "assisted_desertions"),
        )
        if kind == "share":
            model.at_most({left: 1, helped: -value - 1e-9})
            model.at_most({left: -1, helped: value - 1e-9})
        elif kind == "share_percent":
            model.at_most({left: 1, helped: -(value + 0.5) / 100})
            model.at_most({left: -1, helped: (value - 0.5) / 100})
        elif kind == "ratio":
            now = ("cell", month, "category_desertion")
            then = ("cell", label(shift(parse_label(month), -12)), "category_desertion")
            model.at_most({now: 1, then: -(value + 0.005)})
            model.at_most({now: -1, then: value - 0.005})
        elif kind == "record" and value:
            now = ("cell", month, "category_desertion")
            for earlier in months:
                if earlier < month:
                    model.at_most({("cell", earlier, "category_desertion"): 1, now: -1}, -1)


@dataclass
class Finding:
    what: str

    def __str__(self) -> str:
        return self.what


def _matrix(rows, size: int):
    data, row_index, col_index, values = [], [], [], []
    for r, (coefficients, value) in enumerate(rows):
        for c, coefficient in coefficients.items():
            if coefficient:
                row_index.append(r)
                col_index.append(c)
                data.append(coefficient)
        values.append(value)
    matrix = coo_matrix((data, (row_index, col_index)), shape=(len(rows), size)).tocsr()
    return matrix, np.array(values, dtype=float)


@dataclass
class Solved:
    """Withheld figures whose feasible range lies wholly in 1..K-1, and the work it took."""

    exposed: dict[tuple, tuple[float, float]] = field(default_factory=dict)
    withheld: int = 0
    programs: int = 0


def exposed_ranges(publication: Publication) -> Solved:
    """
    The lowest and highest value of every withheld figure that agrees with
    everything published, where that range lies wholly in 1..K-1.

    A withheld figure is safe once one solution puts it at K or more, or at 0:
    one program maximising all withheld figures together (each capped at K)
    settles most of them; each one left gets its own maximum (capped at K),
    and, when that stays below K, its minimum.
    """
    k = publication.min_cell
    program, names, withheld = _program(publication)
    solved = Solved(withheld=len(withheld))
    if not withheld:
        return solved
    # Capped at K, or at the true count where that is more, so the truth stays feasible.
    truth = [publication.figures[names[p]].truth for p in withheld]
    capped = program.upper.copy()
    capped[withheld] = [max(k, t) if t is not None else 10**6 for t in truth]
    point = program.solve(-program.picks(withheld), capped)
    solved.programs += 1
    if point is None:
        raise AssertionError("the published figures admit no counts at all")
    left = {p for p in withheld if not program.settles(point, p, k)}
    # Again over the figures left, while that settles some.
    while left:
        capped = program.upper.copy()
        capped[sorted(left)] = k
        point = program.solve(-program.picks(sorted(left)), capped)
        solved.programs += 1
        settled = set() if point is None else {p for p in left if program.settles(point, p, k)}
        if not settled:
            break
        left -= settled
    while left:
        p = left.pop()
        capped = program.upper.copy()
        capped[p] = k
        point = program.solve(-program.picks([p]), capped)
        solved.programs += 1
        if point is None:  # nothing at K or below agrees with what is published
            continue
        left = {q for q in left if not program.settles(point, q, k)}
        high = point[p]
        if high >= k - 1e-6:
            continue
        low_point = program.solve(program.picks([p]), program.upper)
        solved.programs += 1
        if low_point[p] > 1e-6:
            solved.exposed[names[p]] = (low_point[p], high)
    return solved


def _program(publication: Publication) -> tuple["Program", dict[int, tuple], list[int]]:
    """
    The linear program over the withheld figures and the latent counts (the
    published figures are constants), each variable's name, and which
    variables are withheld figures.
    """
    model = build(publication)
    size = len(model.index)
    lower, upper = np.zeros(size), np.full(size, np.inf)
    fixed = np.zeros(size, dtype=bool)
    for key, figure in publication.figures.items():
        i = model.index[key]
        if figure.value is not None:
            lower[i] = upper[i] = figure.value
            fixed[i] = True
        elif figure.truth is None or figure.truth > 0:
            lower[i] = 1  # zeros are published: a withheld figure holds 1 or more
    a_eq, b_eq = _matrix(model.eq, size)
    a_ub, b_ub = _matrix(model.ub, size)
    # Published figures are constants: move them to the right-hand side.
    b_eq = b_eq - a_eq[:, fixed] @ lower[fixed]
    b_ub = b_ub - a_ub[:, fixed] @ lower[fixed]
    free = np.flatnonzero(~fixed)
    program = Program(a_eq[:, free], b_eq, a_ub[:, free], b_ub, lower[free], upper[free])
    keys = {i: key for key, i in model.index.items()}
    names = {p: keys[column] for p, column in enumerate(free)}
    withheld = [p for p, name in names.items() if name in publication.figures]
    return program, names, withheld


def feasible_ranges(publication: Publication) -> dict[tuple, tuple[float, float]]:
    """
    The exact lowest and highest value of every withheld figure (two programs
    each; `exposed_ranges` answers the audit's question with far fewer).
    """
    program, names, withheld = _program(publication)
    ranges = {}
    for p in withheld:
        low = program.solve(program.picks([p]), program.upper)
        high = program.solve(-program.picks([p]), program.upper)
        ranges[names[p]] = (low[p], np.inf if high is UNBOUNDED else high[p])
    return ranges


UNBOUNDED = object()


@dataclass
class Program:
    a_eq: csr_matrix
    b_eq: np.ndarray
    a_ub: csr_matrix
    b_ub: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def solve(self, objective: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
        """A solution, or None when nothing within these bounds agrees with what is published."""
        bounds = np.column_stack([self.lower, np.where(np.isinf(upper), np.nan, upper)])
        result = linprog(
            objective,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            A_ub=self.a_ub if self.a_ub.shape[0] else None,
            b_ub=self.b_ub if self.a_ub.shape[0] else None,
            bounds=[(lo, None if np.isnan(hi) else hi) for lo, hi in bounds],
            method="highs",
        )
        if result.status == 2:
            return None
        if result.status == 3:
            return UNBOUNDED
        if result.status != 0:
            raise AssertionError(f"the linear program failed: {result.message}")
        return result.x

    def picks(self, positions: list[int]) -> np.ndarray:
        """An objective of 1 for each of these variables."""
        objective = np.zeros(len(self.lower))
        objective[positions] = 1.0
        return objective

    @staticmethod
    def settles(point: np.ndarray, p: int, k: int) -> bool:
        """Whether this solution shows the figure can be K or more, or 0."""
        return point[p] >= k - 1e-6 or point[p] <= 1e-6


def _small(difference: float, min_cell: int) -> bool:
    return 1 <= difference <= min_cell - 1


def nested_pairs(publication: Publication) -> list[tuple[tuple, tuple]]:
    """(bigger, smaller): figures about a group of requests and a group inside it."""
    figures, months = publication.figures, _months(publication)
    inside = {
        "requests": [f"category_{c}" for c in CATEGORIES]
        + [f"channel_{c}" for c in CHANNELS]
        + ["desertion_related"],
        "desertion_related": ["category_desertion", "category_border_crossing"]
        + [f"service_status_{s}" for s in STATUSES],
        "resolved": [f"outcome_{o}" for o in OUTCOMES] + ["assisted_desertions"],
        "assisted_desertions": ["outcome_left_country", "outcome_hiding_in_country"],
    }
    pairs = []
    for month in months:
        for total, parts in inside.items():
            pairs += [(("cell", month, total), ("cell", month, p)) for p in parts]
        pairs += [(("cell", month, "requests"), ("cell", month, f"service_status_{s}"))
                  for s in STATUSES]  # fmt: skip
        for kind, slugs in (
            ("location", LOCATIONS),
            ("response", RESPONSES),
            ("article", ARTICLES),
        ):
            pairs += [(("cell", month, "requests"), (kind, month, s)) for s in slugs]
    by_row: dict[tuple, list[tuple]] = defaultdict(list)
    for key in figures:
        if key[0] == "cohort":
            by_row[(key[1], key[3])].append(key)
            pairs.append((("cell", key[1], "requests"), key))
        elif key[0] == "pending":
            by_row[(key[1], "pending")].append(key)
            pairs.append((("cell", key[1], "requests"), key))
        elif key[0] == "cumulative":
            total = CUMULATIVE[key[2]]
            pairs += [(key, ("cell", m, total)) for m in months if m <= key[1]]
            pairs += [
                (key, other)
                for other in figures
                if other[0] == "cumulative" and other[2] == key[2] and other[1] < key[1]
            ]
        elif key[0] == "status_window":
            pairs += [(key, ("cell", m, f"service_status_{key[2]}")) for m in key[1]]
    for (_received, ending), keys in by_row.items():
        keys.sort(key=lambda k: k[2])
        for earlier, later in pairwise(keys):
            pairs.append((earlier, later) if ending == "pending" else (later, earlier))
    return pairs


def families(publication: Publication) -> list[tuple[tuple, list[tuple]]]:
    """(total, parts): figures whose parts add up to the total."""
    months = _months(publication)
    result = []
    for month in months:
        for total, members in IDENTITIES:
            result.append((("cell", month, total), [("cell", month, m) for m in members]))
        for kind, slugs in (("location", LOCATIONS), ("response", RESPONSES)):
            if (kind, month, slugs[0]) in publication.figures:
                result.append((("cell", month, "requests"), [(kind, month, s) for s in slugs]))
    for key in publication.figures:
        if key[0] == "pending":
            _kind, received, until = key
            parts = [("cohort", received, until, e) for e in ENDINGS] + [key]
            result.append((("cell", received, "requests"), parts))
    return result


def audit(publication: Publication) -> list[Finding]:
    """Every way the publication gives away a count from 1 to K-1."""
    k, figures = publication.min_cell, publication.figures
    findings = [Finding(f"two values for one figure: {c}") for c in publication.conflicts]
    findings += [Finding(f"a figure the audit does not model: {u}") for u in publication.unmodelled]
    for key, figure in figures.items():
        if figure.value is not None and _small(figure.value, k):
            findings.append(Finding(f"{key} is published as {figure.value}"))

    def value(key):
        figure = figures.get(key)
        return None if figure is None else figure.value

    for bigger, smaller in nested_pairs(publication):
        if value(bigger) is not None and value(smaller) is not None:
            difference = value(bigger) - value(smaller)
            if _small(difference, k):
                findings.append(Finding(f"{bigger} - {smaller} = {difference}"))
    for total, parts in families(publication):
        shown = [value(p) for p in parts]
        if value(total) is None or None not in shown or all(v is None for v in shown):
            continue
        rest = value(total) - sum(v for v in shown if v is not None)
        if _small(rest, k):
            withheld = [p for p, v in zip(parts, shown, strict=True) if v is None]
            findings.append(Finding(f"{withheld} add up to {rest} ({total} less its parts)"))
    for key, (low, high) in exposed_ranges(publication).exposed.items():
        findings.append(
            Finding(f"withheld {key} can only be {ceil(low - 1e-6)}..{floor(high + 1e-6)}")
        )
    return findings


def withheld_count(publication: Publication) -> int:
    return sum(1 for figure in publication.figures.values() if figure.value is None)


def first_month(publication: Publication) -> date:
    return parse_label(_months(publication)[0])
