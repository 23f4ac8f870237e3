"""
Import of historical requests from CSV (the `import_requests` command).

One streaming pass inside one transaction, so memory stays flat whatever the
file's size and each row is parsed once. Every row is validated before it is
written. After the first bad row nothing more is written, but validation goes
on to the end so that every bad line is named, and then the transaction is
rolled back: a file with any bad row stores nothing. A reference that is
already stored is skipped, so importing the same file twice changes nothing.
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cases.workflow import CaseState, Outcome
from intake.fields import normalise_articles
from intake.models import HelpRequest
from core.bulk import BackgroundWriter
from intake.services import (
    BatchResult,
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


def _parsed_rows(
    path: Path, warnings: list[str], progress: Progress | None = None
) -> Iterator[tuple[int, RequestRecord | None, list[RowError]]]:
    """Yield (line, record, errors) per data row; the header is line 1."""
    total_bytes = max(1, path.stat().st_size)
    try:
        with path.open("rb") as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            header = _check_header(next(reader, None))
            extra = [name for name in header if name not in COLUMNS]
            if extra:
                warnings.append(f"ignored unknown column(s): {', '.join(extra)}")
            parser = _RowParser(header)
            start = reader.line_num + 1
            for line, row in enumerate(reader, start=2):
                if row:  # blank lines are skipped but keep their number
                    record, errors = parser.parse(row, line)
                    if start != line:
                        errors = [RowError(e.line, e.column, e.message, start) for e in errors]
                    yield line, record, errors
                start = reader.line_num + 1
                if progress and (line - 1) % 10_000 == 0:
                    progress(line - 1, raw.tell(), total_bytes)
    except UnicodeDecodeError:
        yield 0, None, [RowError(0, "", "the file is not valid UTF-8")]
    except csv.Error as error:
        yield 0, None, [RowError(0, "", f"the file is not valid CSV: {error}")]


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise ImportFailed([RowError(1, "", "the file is empty: expected a header row")], 1)
    header = [name.strip().lower() for name in header]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ImportFailed([RowError(1, "", f"missing column(s): {', '.join(missing)}")], 1)
    return header


class _Importer:
    """
    Collects validated rows into batches. Each batch is prepared (fingerprints,
    encryption) here and written by a BackgroundWriter, so the next batch is
    parsed and encrypted while the database stores this one. Once an error is
    seen nothing more is written.
    """

    def __init__(self) -> None:
        self.summary = ImportSummary()
        self.errors: list[RowError] = []
        self.total_errors = 0
        self.batch: dict[str, tuple[int, RequestRecord]] = {}
        # Rows stored by this import get ids above the watermark: meeting one
        # of them again under a later line means the file repeats a reference.
        self.watermark = HelpRequest.objects.aggregate(top=Max("pk"))["top"] or 0
        self.writer = BackgroundWriter(on_result=self._written)

    def fail(self, errors: list[RowError]) -> None:
        self.total_errors += len(errors)
        self.errors.extend(errors[: max(0, MAX_REPORTED_ERRORS - len(self.errors))])
        self.batch = {}

    def add(self, line: int, record: RequestRecord) -> None:
        if self.total_errors:
            return  # nothing more is written once the file is known to be bad
        if record.reference in self.batch:
            self.fail([_repeated(line, record.reference)])
            return
        self.batch[record.reference] = (line, record)
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.batch or self.total_errors:
            return
        lines = {reference: line for reference, (line, _record) in self.batch.items()}
        prepared = prepare_batch([record for _line, record in self.batch.values()])
        self.batch = {}
        self.writer.submit(_write, prepared, lines)

    def _written(self, outcome: tuple[BatchResult, dict[str, int]]) -> None:
        result, lines = outcome
        repeats = [
            _repeated(lines[reference], reference)
            for reference, pk in result.existing.items()
            if pk > self.watermark
        ]
        if repeats:
            self.fail(repeats)
        self.summary.created += result.created
        self.summary.skipped += len(result.existing)

    def finish(self) -> None:
        try:
            self.flush()
        finally:
            self.writer.close()


def _write(prepared: PreparedBatch, lines: dict[str, int]) -> tuple[BatchResult, dict[str, int]]:
    return write_batch(prepared), lines


def _repeated(line: int, reference: str) -> RowError:
    return RowError(line, "reference", f"{reference!r} appears on an earlier line of the file")


def import_file(path: Path, progress: Progress | None = None) -> ImportSummary:
    """Import the whole file or, if any row is bad, nothing (ImportFailed)."""
    with transaction.atomic():
        importer = _Importer()
        try:
            for line, record, errors in _parsed_rows(path, importer.summary.warnings, progress):
                importer.summary.rows += 1
                if errors:
                    importer.fail(errors)
                else:
                    importer.add(line, record)
        finally:
            importer.finish()
        if importer.total_errors:
            transaction.set_rollback(True)
            raise ImportFailed(importer.errors, importer.total_errors)
    return importer.summary


def validate_file(path: Path) -> int:
    """Check every row without storing anything; returns the number of rows."""
    errors: list[RowError] = []
    total = rows = 0
    for _line, _record, row_errors in _parsed_rows(path, []):
        rows += 1
        total += len(row_errors)
        errors.extend(row_errors[: max(0, MAX_REPORTED_ERRORS - len(errors))])
    if total:
        raise ImportFailed(errors, total)
    return rows
