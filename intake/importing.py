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
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cases.workflow import CaseState, Outcome
from core.processes import start_django_worker
from encryption.sealing import OrganisationPublicKey, active_public_key
from intake.fields import normalise_articles
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
MAX_TEXT_LENGTH = 100_000
MAX_REPORTED_ERRORS = 1000
BATCH_SIZE = 2000
# The csv module's default limit (128 KiB) is below what a long narrative may
# take; our own limit on characters is checked per field.
csv.field_size_limit(4 * MAX_TEXT_LENGTH + 1024)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str
    file_line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.file_line and self.file_line != self.line:
            where += f" (file line {self.file_line})"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


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
        problems: list[tuple[str, str]] = []
        for name in REQUIRED_COLUMNS:
            if not values[name]:
                problems.append((name, "is empty"))
        for name, allowed in VOCABULARIES.items():
            value = values[name] = values[name].lower()
            if value and value not in allowed:
                problems.append((name, f"{value!r} is not one of {', '.join(allowed)}"))
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
            problems.append(("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}"))
        if not outcome and values["state"] == CaseState.RESOLVED:
            problems.append(("outcome", "is required when state is resolved"))
        for name in ("contact", "narrative"):
            if len(values[name]) > MAX_TEXT_LENGTH:
                problems.append((name, f"is longer than {MAX_TEXT_LENGTH} characters"))
        try:
            articles = normalise_articles(values["legal_articles"].split(";"))
        except ValueError as unknown:
            problems.append(("legal_articles", f"unknown article(s): {unknown}; use 332, 337, 338"))
        if problems:
            return None, [RowError(line, column, message) for column, message in problems]
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
            problems.append((column, f"{raw!r} is not an ISO 8601 date or date and time"))
            return None
        if moment > self.latest_allowed:
            problems.append((column, f"{raw!r} is in the future"))
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
        try:
            with self.path.open("rb") as raw:
                reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
                self.header = _check_header(next(reader, None))
                extra = [name for name in self.header if name not in COLUMNS]
                if extra:
                    self.warnings.append(f"ignored unknown column(s): {', '.join(extra)}")
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
            self.error = RowError(0, "", "the file is not valid UTF-8")
        except csv.Error as error:
            self.error = RowError(0, "", f"the file is not valid CSV: {error}")


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
                row_errors = [RowError(e.line, e.column, e.message, file_line) for e in row_errors]
            errors.extend(row_errors[: max(0, MAX_REPORTED_ERRORS - len(errors))])
            continue
        lines[record.reference] = line
        records.append(record)
    batch = None if total_errors else prepare_batch(records, organisation)
    return PreparedChunk(len(chunk), errors, total_errors, batch, lines)


def _repeated(line: int, reference: str) -> RowError:
    return RowError(line, "reference", f"{reference!r} appears on an earlier line of the file")


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
