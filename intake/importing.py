"""
Import of historical requests from CSV (the `import_requests` command).

One streaming pass inside one transaction, so memory stays flat whatever the
file's size and each row is parsed once. Every row is validated before it is
written. After the first bad row nothing more is written, but validation goes
on to the end so that every bad line is named, and then the transaction is
rolled back: a file with any bad row stores nothing. A reference that is
already stored is skipped, so importing the same file twice changes nothing.

Parsing and encryption are the costly part; for large files they run in
worker processes, chunk by chunk, while this process reads the file and writes
the prepared chunks in order.
"""

import csv
import io
import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cases.workflow import CaseState, Outcome
from core.logging import escape_invisible
from core.processes import start_django_worker
from encryption.sealing import OrganisationPublicKey, active_public_key
from intake.fields import normalise_articles
from intake.forms import LONE_SURROGATE, MAX_CONTACT, MAX_NARRATIVE
from intake.models import HelpRequest
from intake.services import (
    PreparedBatch,
    RequestRecord,
    prepare_batch,
    write_batch,
)
from intake.vocabulary import Category, Channel, Location, ServiceStatus, Urgency

COLUMNS = (
    "reference",
    "received_at",
    "channel",
    "category",
    "service_status",
    "location",
    "urgency",
    "legal_articles",
    "state",
    "outcome",
    "resolved_at",
    "contact",
    "narrative",
)
REQUIRED_COLUMNS = (
    "reference",
    "received_at",
    "channel",
    "category",
    "service_status",
    "location",
    "urgency",
    "state",
)
# Tuples built once: TextChoices.values is recomputed on every access.
VOCABULARIES = {
    "channel": tuple(Channel.values),
    "category": tuple(Category.values),
    "service_status": tuple(ServiceStatus.values),
    "location": tuple(Location.values),
    "urgency": tuple(Urgency.values),
    "state": tuple(CaseState.values),
}
OUTCOMES = tuple(Outcome.values)
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
# The public form's limits (intake.forms), so an import stores nothing the form
# would refuse: no NUL, no unpaired surrogate, no contact longer than 200.
TEXT_LIMITS = {"contact": MAX_CONTACT, "narrative": MAX_NARRATIVE}
MAX_TEXT_LENGTH = max(TEXT_LIMITS.values())
MAX_REPORTED_ERRORS = 1000
BATCH_SIZE = 2000
# Far above any field we accept, so that an overlong one is named by our own
# check (line, column, length) rather than by the csv module's.
csv.field_size_limit(4 * 1024 * 1024)


# A refused value is quoted only when it could be a slug or a date (short,
# ASCII): anything else may be a contact or a story in the wrong column (a
# spreadsheet with two columns swapped), and a terminal's scrollback, a `tee`
# log or the journal must not keep it. `--show-values` is for a trusted terminal.
# A slug, a short number (an article), or a reference such as HIST-000011.
_SLUG_LIKE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]{0,31}|\d{1,4}|[A-Z]{1,8}[-_:.]\d{1,12})$")
_DATE_LIKE = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ][0-9:.]{1,15}(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)


def described(value: str, show_values: bool = False) -> str:
    """A file's value as an error may name it: quoted (every control character
    escaped) if it could be a slug or a date, else only its length."""
    if show_values or _SLUG_LIKE.match(value) or _DATE_LIKE.match(value):
        return repr(value)  # repr escapes ESC, CSI, bidi controls and every other
    return f"a value of {len(value)} character{'s' if len(value) != 1 else ''}"


def printable(text: str) -> str:
    """File text that is not a value (a file or column name) safe for a terminal:
    control and invisible characters (ESC, CSI, OSC, bidi) as visible escapes."""
    return escape_invisible(text)


@dataclass(frozen=True)
class RowError:
    """What is wrong where. A value from the file is held apart from the message
    ("{value} is not ...") and shown by `described`."""

    line: int
    column: str
    message: str
    file_line: int | None = None
    value: str | None = None

    def text(self, show_values: bool = False) -> str:
        where = f"line {self.line}"
        if self.file_line and self.file_line != self.line:
            where += f" (file line {self.file_line})"
        if self.column:
            where += f", column {printable(self.column)}"
        message = self.message
        if self.value is not None:
            message = message.replace("{value}", described(self.value, show_values))
        return f"{where}: {message}"

    def __str__(self) -> str:
        return self.text()


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError], total_errors: int) -> None:
        self.errors = errors
        self.total_errors = total_errors
        super().__init__(f"{total_errors} error(s)")


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


# progress(rows read so far, bytes read so far, total bytes)
Progress = Callable[[int, int, int], None]


def _named(problem: tuple) -> tuple[str, str, None, str | None]:
    """(column, message[, value]) as RowError's column, message, file line, value."""
    column, message, *value = problem
    return column, message, None, value[0] if value else None


def _text_problems(text: str, limit: int) -> list[str]:
    problems = []
    if len(text) > limit:
        problems.append(f"is longer than {limit} characters ({len(text)})")
    if "\x00" in text:
        problems.append("holds a NUL character")
    if LONE_SURROGATE.search(text):
        problems.append("holds characters that are not valid text")
    return problems


def _parse_moment(raw: str, zone: tzinfo) -> datetime:
    """ISO 8601 date or datetime; naive values are in the configured time zone."""
    if len(raw) <= 10:
        moment = datetime.combine(date.fromisoformat(raw), time.min)
    else:
        moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


class _RowParser:
    """Turns one CSV row into a RequestRecord, or names what is wrong with it."""

    def __init__(self, header: list[str]) -> None:
        self.positions = [header.index(name) for name in COLUMNS]
        self.width = len(header)
        self.latest_allowed = timezone.now() + timedelta(days=1)
        self.zone = timezone.get_current_timezone()

    def parse(self, row: list[str], line: int) -> tuple[RequestRecord | None, list[RowError]]:
        if len(row) != self.width:
            return None, [RowError(line, "", f"expected {self.width} fields, found {len(row)}")]
        values = dict(zip(COLUMNS, [row[pos].strip() for pos in self.positions], strict=True))
        # The form's rules count every character sent, before trimming.
        row_text = {name: row[self.positions[COLUMNS.index(name)]] for name in TEXT_LIMITS}
        problems: list[tuple[str, str]] = []
        for name in REQUIRED_COLUMNS:
            if not values[name]:
                problems.append((name, "is empty"))
        for name, allowed in VOCABULARIES.items():
            value = values[name] = values[name].lower()
            if value and value not in allowed:
                problems.append((name, f"{{value}} is not one of {', '.join(allowed)}", value))
        reference = values["reference"]
        if reference and not REFERENCE_PATTERN.match(reference):
            problems.append(
                (
                    "reference",
                    "must be 1-64 letters, digits or . _ : / - starting with one of the first two",
                )
            )
        received_at = self._moment(values, "received_at", problems)
        resolved_at = self._moment(values, "resolved_at", problems)
        if received_at and resolved_at and resolved_at.date() < received_at.date():
            problems.append(("resolved_at", "is before received_at"))
        outcome = values["outcome"].lower()
        if outcome and outcome not in OUTCOMES:
            problems.append(("outcome", f"{{value}} is not one of {', '.join(OUTCOMES)}", outcome))
        if not outcome and values["state"] == CaseState.RESOLVED:
            problems.append(("outcome", "is required when state is resolved"))
        for name, limit in TEXT_LIMITS.items():
            problems.extend((name, problem) for problem in _text_problems(row_text[name], limit))
        try:
            articles = normalise_articles(values["legal_articles"].split(";"))
        except ValueError as unknown:
            named = ", ".join(
                article if article.isdigit() and len(article) <= 4 else described(article)
                for article in str(unknown).split(", ")
            )
            problems.append(("legal_articles", f"unknown article(s): {named}; use 332, 337, 338"))
        if problems:
            return None, [
                RowError(
                    line, problem[0], problem[1], value=problem[2] if len(problem) > 2 else None
                )
                for problem in problems
            ]
        return RequestRecord(
            reference=reference,
            received_at=received_at,
            channel=values["channel"],
            category=values["category"],
            service_status=values["service_status"],
            location=values["location"],
            urgency=values["urgency"],
            legal_articles=articles,
            state=values["state"],
            outcome=outcome,
            resolved_at=resolved_at,
            contact=values["contact"],
            narrative=values["narrative"],
        ), []

    def _moment(self, values: dict, column: str, problems: list) -> datetime | None:
        raw = values[column]
        if not raw:
            return None
        try:
            moment = _parse_moment(raw, self.zone)
        except ValueError:
            problems.append((column, "{value} is not an ISO 8601 date or date and time", raw))
            return None
        if moment > self.latest_allowed:
            problems.append((column, "{value} is in the future", raw))
            return None
        return moment


class _Reader:
    """
    Reads the CSV file in chunks of raw rows. Decoding happens here, parsing in
    `prepare_chunk`, so that a large file's rows can be parsed elsewhere.
    """

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self.path = path
        self.progress = progress
        self.total_bytes = max(1, path.stat().st_size)
        self.warnings: list[str] = []
        self.error: RowError | None = None
        self.header: list[str] = []

    def chunks(self) -> Iterator[list[tuple[int, int, list[str]]]]:
        """Lists of (line, file line, fields); the header is line 1."""
        reader = None
        try:
            with self.path.open("rb") as raw:
                reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
                self.header = _check_header(next(reader, None))
                extra = [name for name in self.header if name not in COLUMNS]
                if extra:
                    named = ", ".join(described(name) for name in extra)
                    self.warnings.append(f"ignored unknown column(s): {named}")
                chunk: list[tuple[int, int, list[str]]] = []
                start = reader.line_num + 1
                for line, row in enumerate(reader, start=2):
                    if row:  # blank lines are skipped but keep their number
                        chunk.append((line, start, row))
                    start = reader.line_num + 1
                    if len(chunk) >= BATCH_SIZE:
                        yield chunk
                        chunk = []
                    if self.progress and (line - 1) % 10_000 == 0:
                        self.progress(line - 1, raw.tell(), self.total_bytes)
                if chunk:
                    yield chunk
        except UnicodeDecodeError:
            self.error = _first_bad_utf8(self.path)
        except csv.Error as error:
            line = reader.line_num if reader is not None else 1
            self.error = RowError(line, "", f"the file is not valid CSV: {error}")


def _first_bad_utf8(path: Path) -> RowError:
    """Where the file stops being UTF-8: its line (as a text editor counts) and
    byte offset. Line breaks are ASCII, so no character spans two lines."""
    offset = 0
    with path.open("rb") as raw:
        for number, text in enumerate(raw, start=1):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as error:
                return RowError(
                    number, "", f"the file is not valid UTF-8 (byte {offset + error.start:,})"
                )
            offset += len(text)
    return RowError(1, "", "the file is not valid UTF-8")


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise ImportFailed([RowError(1, "", "the file is empty: expected a header row")], 1)
    header = [name.strip().lower() for name in header]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ImportFailed([RowError(1, "", f"missing column(s): {', '.join(missing)}")], 1)
    return header


@dataclass
class PreparedChunk:
    rows: int
    errors: list[RowError]
    total_errors: int
    batch: PreparedBatch | None
    lines: dict[str, int]  # reference -> line, to name a repeated reference


def prepare_chunk(
    header: list[str],
    chunk: list[tuple[int, int, list[str]]],
    organisation: OrganisationPublicKey,
) -> PreparedChunk:
    """Parse and validate raw rows and, if all are good, seal and encrypt them for
    writing, to the organisation's public key (read once by the importing process:
    a worker has no database of its own to ask)."""
    parser = _RowParser(header)
    errors: list[RowError] = []
    total_errors = 0
    records: list[RequestRecord] = []
    lines: dict[str, int] = {}
    for line, file_line, row in chunk:
        record, row_errors = parser.parse(row, line)
        if not row_errors and record.reference in lines:
            row_errors = [_repeated(line, record.reference)]
        if row_errors:
            total_errors += len(row_errors)
            if file_line != line:
                row_errors = [replace(error, file_line=file_line) for error in row_errors]
            errors.extend(row_errors[: max(0, MAX_REPORTED_ERRORS - len(errors))])
            continue
        lines[record.reference] = line
        records.append(record)
    batch = None if total_errors else prepare_batch(records, organisation)
    return PreparedChunk(len(chunk), errors, total_errors, batch, lines)


def _repeated(line: int, reference: str) -> RowError:
    return RowError(
        line, "reference", "{value} appears on an earlier line of the file", None, reference
    )


class _Importer:
    """Writes prepared chunks in file order until the first error, then only counts."""

    def __init__(self) -> None:
        self.summary = ImportSummary()
        self.errors: list[RowError] = []
        self.total_errors = 0
        # Rows stored by this import get ids above the watermark: meeting one
        # of them again under a later line means the file repeats a reference.
        self.watermark = HelpRequest.objects.aggregate(top=Max("pk"))["top"] or 0

    def fail(self, errors: list[RowError], total: int) -> None:
        self.total_errors += total
        self.errors.extend(errors[: max(0, MAX_REPORTED_ERRORS - len(self.errors))])

    def take(self, chunk: PreparedChunk) -> None:
        self.summary.rows += chunk.rows
        if chunk.total_errors:
            self.fail(chunk.errors, chunk.total_errors)
        if self.total_errors:
            return  # nothing more is written once the file is known to be bad
        result = write_batch(chunk.batch)
        repeats = [
            _repeated(chunk.lines[reference], reference)
            for reference, pk in result.existing.items()
            if pk > self.watermark
        ]
        self.fail(repeats, len(repeats))
        self.summary.created += result.created
        self.summary.skipped += len(result.existing)


def import_file(
    path: Path, progress: Progress | None = None, workers: int | None = None
) -> ImportSummary:
    """
    Import the whole file or, if any row is bad, nothing (ImportFailed).

    Large files are parsed and encrypted by `workers` processes (by default
    one per core but one, up to four; 0 does it all here) while this process
    reads and writes, in file order.
    """
    organisation = active_public_key()  # NoOrganisationKey before the first caseworker
    reader = _Reader(path, progress)
    if workers is None:
        workers = _default_workers(reader.total_bytes)
    with transaction.atomic(), _preparers(workers) as pool:
        importer = _Importer()
        pending: deque[Future] = deque()
        for chunk in reader.chunks():
            pending.append(pool.submit(prepare_chunk, reader.header, chunk, organisation))
            # A bounded window keeps memory flat: reading never runs far ahead.
            if len(pending) > 2 * max(1, workers):
                importer.take(pending.popleft().result())
        while pending:
            importer.take(pending.popleft().result())
        if reader.error:
            importer.fail([reader.error], 1)
        if importer.total_errors:
            raise ImportFailed(importer.errors, importer.total_errors)
    importer.summary.warnings = reader.warnings
    return importer.summary


PARALLEL_FROM_BYTES = 4 * 1024 * 1024


def _default_workers(size: int) -> int:
    if size < PARALLEL_FROM_BYTES:
        return 0  # starting a process costs more than it saves
    # One core stays with this process (reading, writing) and the database.
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class _InProcess(Executor):
    """The executor interface, run on the spot: small files need no processes."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _can_spawn() -> bool:
    # A spawned process re-imports the parent's __main__ from its file; a
    # parent reading its program from stdin has none to offer.
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    return bool(main_file) and Path(main_file).is_file()


@contextmanager
def _preparers(workers: int) -> Iterator[Executor]:
    if workers < 1 or not _can_spawn():
        yield _InProcess()
        return
    # Fresh processes (spawn), never forks: a fork would share this process's
    # open database connection. They get the keys and time zone in use here.
    worker_settings = {
        "ENCRYPTION_KEY": settings.ENCRYPTION_KEY,
        "ENCRYPTION_OLD_KEYS": settings.ENCRYPTION_OLD_KEYS,
        "TIME_ZONE": settings.TIME_ZONE,
    }
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_django_worker,
        initargs=(worker_settings,),
    )
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
