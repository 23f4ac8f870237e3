"""
Rewriting tables, so that erased and replaced values leave the database files.

PostgreSQL never overwrites a row in place. An UPDATE or DELETE leaves the old
version in the table's file as a dead row, and (auto)vacuum only marks its
space as reusable: the bytes stay until a later row happens to land on them.
After the retention purge erased a case's content, or a key rotation wrote
every value under a new key, the old ciphertext would still open from the file
with the key that lives on the same server. Rewriting the table copies its live
rows into a new file and deletes the old one (with its TOAST table and indexes):

* PostgreSQL: `VACUUM (FULL, ANALYZE)`, one table at a time. It holds an ACCESS
  EXCLUSIVE lock for the whole copy, so everything touching that table waits
  meanwhile: it runs at night (beat's `core.rewrite_tables`, 04:00), or at once
  when an operator asks (`rewrite_tables`, `--rewrite-now`). It waits at most
  LOCK_TIMEOUT_SECONDS for its lock, so a long transaction cannot make the
  whole site queue behind it; a table it could not lock stays pending for the
  next night.
* SQLite: `VACUUM`, which rewrites the whole database file.

The purge and the rotation only *request* a rewrite (PendingRewrite); this
module carries it out. What stays outside the tables is the operator's job:
see RESIDUE_NOTE.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, models
from django.utils import timezone

from audit.services import record
from core.models import PendingRewrite

log = logging.getLogger(__name__)

LOCK_TIMEOUT_SECONDS = 30
# PostgreSQL's SQLSTATE for "lock_timeout expired".
LOCK_NOT_AVAILABLE = "55P03"

RESIDUE_NOTE = (
    "A rewrite removes old values from the tables' current files only. They remain, "
    "until overwritten, in the free blocks of the file system, in PostgreSQL's "
    "write-ahead log (pg_wal, recycled after checkpoints) and in any WAL archive, "
    "disk or VM snapshot and backup taken before: expiring those is the operator's "
    "job (docs/deployment.md, Backups)."
)


@dataclass
class RewriteReport:
    """What a rewrite did: table names and seconds only."""

    method: str = ""
    rewritten: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # still pending, for the next run
    seconds: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def describe(self) -> str:
        """The outcome for an operator, with what the rewrite cannot reach."""
        if not self.rewritten:
            return "No table was rewritten" + (f": {self.note}." if self.note else ".")
        return (
            f"Rewrote {len(self.rewritten)} table(s) with {self.method} in "
            f"{self.total_seconds:.1f} s: {', '.join(self.rewritten)}. {RESIDUE_NOTE}"
        )


def request_rewrite(models_: Iterable[type[models.Model]], reason: str) -> list[str]:
    """Queue the models' tables for the next rewrite; returns their names."""
    tables = sorted({model._meta.db_table for model in models_})
    now = timezone.now()
    for table in tables:
        PendingRewrite.objects.update_or_create(
            table=table, defaults={"reason": reason, "requested_at": now}
        )
    return tables


def pending_tables() -> list[str]:
    return list(PendingRewrite.objects.order_by("table").values_list("table", flat=True))


def rewrite_pending(
    *, using: str = DEFAULT_DB_ALIAS, lock_timeout: int = LOCK_TIMEOUT_SECONDS
) -> RewriteReport:
    """
    Rewrite every table waiting for it. Must run outside any transaction (VACUUM
    refuses to run inside one); inside one it rewrites nothing and says why.
    A table is taken off the list only if it was not requested again meanwhile.
    """
    known = {model._meta.db_table for model in apps.get_models()}
    requested = dict(PendingRewrite.objects.using(using).values_list("table", "requested_at"))
    # A name no installed model has (a table dropped since) is nothing to rewrite.
    PendingRewrite.objects.using(using).exclude(table__in=known).delete()
    requested = {table: at for table, at in requested.items() if table in known}
    report = RewriteReport()
    if not requested:
        return report
    connection = connections[using]
    if connection.in_atomic_block:
        report.waiting = sorted(requested)
        report.note = "VACUUM cannot run inside a transaction; nothing was rewritten"
        return report
    if connection.vendor == "postgresql":
        report.method = "VACUUM FULL"
        _vacuum_full(connection, sorted(requested), lock_timeout, report)
    elif connection.vendor == "sqlite":
        report.method = "VACUUM"
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
        report.rewritten = sorted(requested)
        report.seconds["(whole database file)"] = time.monotonic() - started
    else:
        report.waiting = sorted(requested)
        report.note = f"no rewrite is known for {connection.vendor}"
        return report
    for table in report.rewritten:
        PendingRewrite.objects.using(using).filter(
            table=table, requested_at__lte=requested[table]
        ).delete()
    record(
        "storage.rewrite",
        method=report.method,
        tables=report.rewritten,
        waiting=report.waiting,
        seconds=round(report.total_seconds, 1),
    )
    return report


# Sessions of this database still in a transaction that began before the given
# moment. VACUUM FULL copies every row version such a transaction might still
# see, erased values included: the rewrite waits for them to end.
OLDER_TRANSACTIONS_SQL = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND xact_start < %s
"""


def _older_transactions_ended(cursor, timeout: int) -> bool:
    cursor.execute("SELECT clock_timestamp()")
    began = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        cursor.execute(OLDER_TRANSACTIONS_SQL, [began])
        if cursor.fetchone()[0] == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _vacuum_full(connection, tables: list[str], lock_timeout: int, report: RewriteReport) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if not _older_transactions_ended(cursor, lock_timeout):
            log.warning("table rewrite: older transactions still running; tables stay pending")
            report.waiting = list(tables)
            report.note = "transactions older than the rewrite kept running; it runs next time"
            return
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{lock_timeout}s"])
        try:
            for table in tables:
                started = time.monotonic()
                try:
                    # Only names of installed models' tables reach this statement.
                    cursor.execute(f"VACUUM (FULL, ANALYZE) {quote(table)}")
                except OperationalError as error:
                    if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                        raise
                    log.warning("table rewrite: %s is busy; it stays pending", table)
                    report.waiting.append(table)
                    continue
                report.rewritten.append(table)
                report.seconds[table] = time.monotonic() - started
        finally:
            cursor.execute("RESET lock_timeout")
