"""
Key rotation: rewrite every encrypted value under the current ENCRYPTION_KEY.

After ENCRYPTION_KEY is replaced and the previous key moved to
ENCRYPTION_OLD_KEYS, old values still read, but a leaked old key would still
open them. `rotate_encryption_key` re-encrypts them, after which the old key
can be removed and destroyed. Values stored before padding existed
(encryption.padding) are rewritten padded by the same run.

The columns are found generically: every concrete EncryptedTextField of every
installed model, so a field added later is rotated without touching this file.
Each table is walked by primary key in batches (keyset pagination, so memory
stays flat), each batch in its own transaction; values the current key already
opens are left alone, which makes an interrupted run safe to repeat. Raw
ciphertext is read and written with plain SQL on the model's own table and
column names: the ORM would decrypt on the way in, and we want to decide per
value whether anything needs to change.

Contact fingerprints are not this rotation's business: they are keyed from
the organisation key (encryption.fingerprint), whose own rotation
(`rotate_content_key`) recomputes them. Content sealed to the organisation is
re-encrypted here like any value, as opaque bytes.

A run is audited when it starts (`encryption.rotate_start`) and when it ends,
completed or not (`encryption.rotate`, naming the start entry), so a run that
was killed shows as a start with no end; the next run's start entry names it.
Each table a run changed keeps the old-key values in dead rows of its file, so
it is queued for a rewrite (core/storage.py).
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from audit.models import AuditEntry
from audit.services import record
from core.storage import request_rewrite
from encryption.content import is_sealed
from encryption.fields import EncryptedTextField, UndecryptableValue, keyring
from encryption.keys import key_materials
from encryption.padding import pad, unpad

DEFAULT_BATCH_SIZE = 1000
START_ACTION = "encryption.rotate_start"
END_ACTION = "encryption.rotate"

log = logging.getLogger(__name__)


@dataclass
class BatchCounts:
    """Counts only: nothing here may ever hold a value or a key."""

    rows: int = 0  # rows read
    rows_changed: int = 0  # rows with at least one value re-encrypted
    reencrypted: int = 0  # values rewritten under the current key
    already_current: int = 0  # values the current key already opened

    def add(self, other: "BatchCounts") -> None:
        for count in dataclasses.fields(BatchCounts):
            setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))


@dataclass(kw_only=True)
class RotationResult(BatchCounts):
    dry_run: bool
    old_keys: int  # keys configured besides the current one
    tables: int = 0
    # Tables this run changed: their files hold old-key values until rewritten.
    rewrite_tables: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class BatchDone:
    """Progress in one table, reported after each committed batch."""

    model: str  # "intake.HelpRequest"
    rows_done: int
    rows_total: int
    reencrypted: int


class RotationStopped(Exception):
    """A value no configured key opens. The batch holding it was left unchanged."""

    def __init__(self, model: str, field_name: str, pk: Any) -> None:
        self.model, self.field_name, self.pk = model, field_name, pk
        self.result: RotationResult | None = None  # what was done before the stop
        # Names and a primary key only: never the value, not even as ciphertext.
        super().__init__(
            f"{model}.{field_name} of the row with primary key {pk} opens with neither "
            "ENCRYPTION_KEY nor any of ENCRYPTION_OLD_KEYS"
        )


@dataclass
class EncryptedTable:
    """One model's table and its encrypted columns."""

    model: type[models.Model]
    fields: list[EncryptedTextField]

    @property
    def label(self) -> str:
        return self.model._meta.label


def encrypted_tables() -> list[EncryptedTable]:
    """Every installed model with an encrypted column in its own table."""
    tables = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        # Local fields only: with multi-table inheritance, a parent's columns
        # live in the parent's table and are rotated there.
        fields = model._meta.local_concrete_fields
        encrypted = [f for f in fields if isinstance(f, EncryptedTextField)]
        if encrypted:
            tables.append(EncryptedTable(model, encrypted))
    return tables


def old_key_count() -> int:
    """Keys configured for reading besides the current one."""
    return len(key_materials()) - 1


def rotate_encryption_key(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[BatchDone], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> RotationResult:
    """
    Re-encrypt every value not already under the current key, batch by batch.

    `progress` is called after each batch is committed. Raises RotationStopped
    on a value no configured key opens; batches committed before it stay done,
    and a later run resumes by skipping them. With `dry_run`, everything is
    read and counted and nothing is written, the audit log included.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result = RotationResult(dry_run=dry_run, old_keys=old_key_count())
    start = None if dry_run else _audit_start(result, batch_size)
    changed: list[type[models.Model]] = []
    try:
        for table in encrypted_tables():
            result.tables += 1
            _rotate_table(table, result, batch_size, dry_run, progress, using, changed)
    except RotationStopped as stopped:
        if not dry_run:
            _finish(result, start, changed, complete=False, stopped_by="undecryptable value")
        stopped.result = result
        raise
    except BaseException as error:
        # Interrupted (Ctrl+C, SIGTERM through the command) or failed: say so,
        # by the kind of error only (a database message may quote values).
        if not dry_run:
            _finish(result, start, changed, complete=False, stopped_by=type(error).__name__)
        raise
    if not dry_run:
        _finish(result, start, changed, complete=True)
    return result


def _rotate_table(
    table: EncryptedTable,
    result: RotationResult,
    batch_size: int,
    dry_run: bool,
    progress: Callable[[BatchDone], None] | None,
    using: str,
    changed: list[type[models.Model]],
) -> None:
    """Rotate one table, adding it to `changed` once a batch changing it is committed."""
    total = table.model._base_manager.using(using).count()
    done, last_pk = BatchCounts(), None
    while True:
        # One transaction per batch: a failure (or an interruption) undoes only
        # the batch in hand, and the next run skips every batch committed.
        with transaction.atomic(using=using):
            rows = _read_batch(table, last_pk, batch_size, lock=not dry_run, using=using)
            batch = BatchCounts(rows=len(rows))
            changes = [_changes_in_row(table, row, batch) for row in rows]
            changes = [(pk, change) for pk, change in changes if change]
            if not dry_run:
                _write(table, changes, using)
        if not rows:
            return
        result.add(batch)
        done.add(batch)
        if batch.rows_changed and not dry_run and table.model not in changed:
            changed.append(table.model)
        last_pk = rows[-1][0]
        if progress:
            progress(
                BatchDone(
                    table.label,
                    done.rows,
                    max(total, done.rows),
                    done.reencrypted,
                )
            )


def _read_batch(
    table: EncryptedTable, last_pk: Any, batch_size: int, *, lock: bool, using: str
) -> list[tuple]:
    """
    Rows after `last_pk` as (pk, raw value of each encrypted field...). The
    rows are locked where the database can (PostgreSQL): a caseworker saving a
    note meanwhile must not be overwritten with its older text.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = table.model._meta
    pk = quote(meta.pk.column)
    columns = [pk] + [quote(f.column) for f in table.fields]
    # Only names from the models' _meta, quoted, enter the SQL; values are parameters.
    sql = f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)}"  # noqa: S608 # nosec B608
    params: list[Any] = []
    if last_pk is not None:
        sql += f" WHERE {pk} > %s"
        params.append(last_pk)
    sql += f" ORDER BY {pk} LIMIT %s"
    params.append(batch_size)
    if lock and connection.features.has_select_for_update:
        sql += " " + connection.ops.for_update_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _changes_in_row(
    table: EncryptedTable, row: tuple, counts: BatchCounts
) -> tuple[Any, dict[str, Any]]:
    """The columns of one row that must be rewritten, with their new values."""
    ring = keyring()
    pk, values = row[0], row[1:]
    change: dict[str, Any] = {}
    for encrypted_field, value in zip(table.fields, values, strict=True):
        token = _token(value)
        if token is None:
            continue
        try:
            plaintext, current = ring.open(token)
        except UndecryptableValue:
            raise RotationStopped(table.label, encrypted_field.name, pk) from None
        if current:
            counts.already_current += 1
            continue
        # Under an old key, or stored before padding: written anew, padded
        # (content sealed to the organisation is padded inside its seal).
        plaintext = unpad(plaintext)
        change[encrypted_field.column] = ring.encrypt(
            plaintext if is_sealed(plaintext) else pad(plaintext)
        )
        counts.reencrypted += 1
    if change:
        counts.rows_changed += 1
    return pk, change


def _token(value: Any) -> bytes | None:
    """Stored bytes as bytes: PostgreSQL gives a memoryview. Text in an encrypted
    column (SQLite would return a str) is no token, and no key will open it."""
    if value is None or isinstance(value, bytes):
        return value
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _write(table: EncryptedTable, changes: list[tuple[Any, dict[str, Any]]], using: str) -> None:
    quote = connections[using].ops.quote_name
    meta = table.model._meta
    update = f"UPDATE {quote(meta.db_table)} SET"
    where = f"WHERE {quote(meta.pk.column)} = %s"
    with connections[using].cursor() as cursor:
        for pk, change in changes:
            assignments = ", ".join(f"{quote(column)} = %s" for column in change)
            cursor.execute(f"{update} {assignments} {where}", [*change.values(), pk])


def _audit_start(result: RotationResult, batch_size: int) -> AuditEntry:
    """The start entry, naming the last run that started and never ended, if any."""
    detail: dict[str, Any] = {"old_keys": result.old_keys, "batch_size": batch_size}
    last_start = AuditEntry.objects.filter(action=START_ACTION).order_by("-seq").first()
    if (
        last_start
        and not AuditEntry.objects.filter(
            action=END_ACTION, detail__start_entry=last_start.seq
        ).exists()
    ):
        detail["unfinished_run"] = last_start.seq
    return record(START_ACTION, actor=None, **detail)


def _finish(
    result: RotationResult,
    start: AuditEntry | None,
    changed: list[type[models.Model]],
    *,
    complete: bool,
    stopped_by: str = "",
) -> None:
    """Queue the changed tables for a rewrite and write the end entry."""
    try:
        if changed:
            result.rewrite_tables = request_rewrite(changed, END_ACTION)
        counts = {
            name: value for name, value in dataclasses.asdict(result).items() if name != "dry_run"
        }
        if stopped_by:
            counts["stopped_by"] = stopped_by
        record(
            END_ACTION,
            actor=None,
            complete=complete,
            start_entry=start.seq if start else None,
            **counts,
        )
    except Exception as error:
        if complete:
            raise
        # Already failing (the database may be gone): keep the first error. The
        # start entry without an end still shows that this run did not finish.
        log.warning("the end of the key rotation could not be audited (%s)", type(error).__name__)
