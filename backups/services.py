"""
Backups that are encrypted before they touch a disk, and restores that prove them.

`make_backup` copies the database with SQLite's online backup API into memory,
takes the manifest from that same copy (row counts per table, the audit head,
the applied migrations, a digest of every stored month's report rebuilt from
the data), encrypts the copy with age to the configured recipients and writes
two files: `NAME.age` and `NAME.manifest`, the manifest signed with the audit
signing key. `restore_check` asks for an age identity, opens the backup into a
scratch database in memory, and checks it against the manifest, the audit
chain against the signed checkpoints, the migrations and the reports; then
drops the scratch database. No unencrypted copy is ever written to a file.

On PostgreSQL these commands are not built yet: the systemd unit's `pg_dump`
piped into `age` (docs/deployment.md) stays the production backup there.
"""

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.test.utils import override_settings
from django.utils import timezone

from audit import checkpoints
from audit.models import GENESIS_HASH, ChainHead
from audit.services import HEAD_ID
from encryption import backup_crypto, checkpoint_key
from reports.models import MonthlyReport
from reports.services import monthly_report

HEADER = "backup-manifest v1"
SCRATCH = "restore_check"


class BackupError(Exception):
    """A backup cannot be made or opened; the message says why."""


# --- a second database, in memory ---------------------------------------------


class _Everything:
    """A database router sending every query to one alias: the copy under check."""

    def __init__(self, alias: str):
        self.alias = alias

    def db_for_read(self, model, **hints):
        return self.alias

    def db_for_write(self, model, **hints):
        return self.alias

    def allow_relation(self, *objects, **hints):
        return True


@contextmanager
def in_memory(name: str, image: bytes | None = None) -> Iterator[sqlite3.Connection]:
    """
    A shared in-memory SQLite database, `image` loaded into it, reachable by
    Django as the SCRATCH alias, and every ORM query routed to it. Gone, with
    everything in it, when the block ends.
    """
    uri = f"file:{name}?mode=memory&cache=shared"
    keeper = sqlite3.connect(uri, uri=True, check_same_thread=False)
    scratch = None
    try:
        if image is not None:
            # deserialize() gives a private database; copy it into the shared one.
            loaded = sqlite3.connect(":memory:")
            loaded.deserialize(image)
            loaded.backup(keeper)
            loaded.close()
        # A connection made here, not a configured database: it exists only in
        # this thread and only for this block.
        settings_dict = {**connections.settings["default"], "NAME": uri}
        scratch = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, SCRATCH)
        connections[SCRATCH] = scratch
        with override_settings(DATABASE_ROUTERS=[_Everything(SCRATCH)]):
            yield keeper
    finally:
        if scratch is not None:
            if scratch.connection is not None:
                scratch.connection.close()  # Django keeps in-memory databases open
            del connections[SCRATCH]
        keeper.close()


# --- the manifest -------------------------------------------------------------


def _facts(alias: str) -> dict[str, str]:
    """What a manifest states about the database behind `alias`."""
    db = connections[alias]
    facts = {}
    with db.cursor() as cursor:
        for table in sorted(db.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {db.ops.quote_name(table)}")  # noqa: S608
            facts[f"table {table}"] = str(cursor.fetchone()[0])
    head = ChainHead.objects.using(alias).filter(pk=HEAD_ID).first()
    facts["audit"] = f"{head.seq} {head.last_hash}" if head else f"0 {GENESIS_HASH}"
    applied = sorted(f"{app}.{name}" for app, name in MigrationRecorder(db).applied_migrations())
    facts["migrations"] = f"{len(applied)} {_digest(applied)}"
    # Reports are rebuilt from the data, not read from their stored rows: a
    # restore that lost or changed a request changes a figure.
    months = list(
        MonthlyReport.objects.using(alias).order_by("month").values_list("month", flat=True)
    )
    rebuilt = {month.isoformat(): monthly_report(month) for month in months}
    facts["reports"] = f"{len(months)} {_digest(rebuilt)}"
    return facts


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _signed_text(lines: list[str]) -> str:
    body = "".join(f"{line}\n" for line in lines)
    body += f"key: {checkpoint_key.signing_key_id()}\n"
    return f"{body}signature: {checkpoint_key.sign(body.encode())}\n"


@dataclass
class Manifest:
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, int]:
        return {k[6:]: int(v) for k, v in self.values.items() if k.startswith("table ")}


def read_manifest(path: Path, public_keys: list[str] | None = None) -> Manifest:
    """The manifest's lines, and what is wrong with its signature."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise BackupError(f"{path} cannot be read as a manifest") from None
    lines = text.splitlines()
    values = dict(line.split(": ", 1) for line in lines if ": " in line)
    manifest = Manifest(values)
    if not lines or lines[0] != HEADER or "signature" not in values:
        manifest.problems.append("the manifest is not a backup manifest v1")
        return manifest
    signed = text[: text.rindex("signature: ")].encode()
    key = checkpoint_key.trusted_keys(public_keys).get(values.get("key", ""))
    if key is None:
        manifest.problems.append(f"the manifest is signed by an unknown key {values.get('key')}")
    elif not checkpoint_key.signature_holds(key, signed, values["signature"]):
        manifest.problems.append("the manifest does not match its signature: edited")
    return manifest


# --- backing up -----------------------------------------------------------------


def make_backup(folder: Path) -> tuple[Path, Path]:
    """Write `tropa-<hour>.sqlite3.age` and its `.manifest` to `folder`."""
    if connection.vendor != "sqlite":
        raise BackupError(
            "backup is built for SQLite only; on PostgreSQL the systemd unit's pg_dump | age "
            "remains the backup (docs/deployment.md)"
        )
    if not checkpoint_key.signing_configured():
        raise BackupError("no signing key for the manifest: set AUDIT_SIGNING_KEY_FILE")
    if connection.in_atomic_block:
        # SQLite's backup waits for the source's write transaction to end:
        # inside one, for ever.
        raise BackupError("a backup cannot be made inside a transaction")
    hour = timezone.now().astimezone(UTC)
    stem = folder / f"tropa-{hour:%Y%m%dT%H%M%S}Z.sqlite3"
    connection.ensure_connection()
    with in_memory(f"backup-{os.getpid()}") as copy:
        connection.connection.backup(copy)
        facts = _facts(SCRATCH)
        image = copy.serialize()
    try:
        encrypted = backup_crypto.encrypt(image)
    except backup_crypto.BackupKeyError as error:
        raise BackupError(str(error)) from None
    del image
    lines = [
        HEADER,
        f"file: {stem.name}.age",
        "database: sqlite",
        f"hour: {hour:%Y-%m-%dT%H}Z",
        f"sha256: {hashlib.sha256(encrypted).hexdigest()}",
        *(f"{name}: {value}" for name, value in facts.items()),
    ]
    archive, manifest = Path(f"{stem}.age"), Path(f"{stem}.manifest")
    for path, data in ((archive, encrypted), (manifest, _signed_text(lines).encode())):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    return archive, manifest


# --- restoring ------------------------------------------------------------------


@dataclass
class RestoreReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _compare(manifest: Manifest, facts: dict[str, str], report: RestoreReport) -> None:
    for name in sorted(set(manifest.values) | set(facts)):
        if not (name.startswith("table ") or name in ("audit", "migrations", "reports")):
            continue
        expected, restored = manifest.values.get(name), facts.get(name)
        if expected != restored:
            report.problems.append(
                f"{name}: the manifest says {expected or 'nothing'}, "
                f"the restored copy has {restored or 'nothing'}"
            )


def _migrations(report: RestoreReport) -> None:
    loader = MigrationLoader(connections[SCRATCH])
    known = set(loader.disk_migrations)
    applied = set(loader.applied_migrations)
    if applied - known:
        report.problems.append(
            "the backup has migrations this code does not know: "
            + ", ".join(f"{app}.{name}" for app, name in sorted(applied - known))
        )
    if known - applied:
        report.notes.append(
            f"migrate will apply {len(known - applied)} migration(s) after a restore"
        )


def _against_checkpoints(manifest: Manifest, where: str | None, report: RestoreReport) -> None:
    found, problems = (
        checkpoints.read_store() if where is None else checkpoints.read_path(Path(where))
    )
    backed_up = int(manifest.values.get("audit", "0 ").split()[0])
    # Checkpoints signed after the backup vouch for entries it cannot have.
    found = [c for c in found if c.entries <= backed_up]
    result = checkpoints.verify_checkpoints(found, problems)
    report.problems += [f"checkpoints: {problem}" for problem in result.problems]
    if result.intact:
        report.notes.append(f"the audit chain passes through {result.checkpoints} checkpoint(s)")


def _against_live(manifest: Manifest, report: RestoreReport) -> None:
    """Rows the live database has beyond the backup: written after it, missing from it."""
    with connection.cursor() as cursor:
        for table, count in sorted(manifest.tables().items()):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            live = cursor.fetchone()[0]
            if live != count:
                report.problems.append(
                    f"table {table}: {live} rows live, {count} in the backup "
                    f"({live - count:+d} since it was made: missing from it)"
                )


def restore_check(
    archive: Path,
    identity: str,
    *,
    checkpoints_from: str | None = None,
    compare_live: bool = False,
) -> RestoreReport:
    """Open `archive` into a scratch database in memory and check everything it can."""
    if connection.vendor != "sqlite":
        raise BackupError("restore_check is built for SQLite only (docs/deployment.md)")
    manifest_path = archive.with_suffix(".manifest")
    if archive.suffix != ".age" or not archive.is_file() or not manifest_path.is_file():
        raise BackupError(f"{archive} is not a backup (NAME.age beside NAME.manifest)")
    manifest = read_manifest(manifest_path)
    report = RestoreReport(list(manifest.problems))
    encrypted = archive.read_bytes()
    if hashlib.sha256(encrypted).hexdigest() != manifest.values.get("sha256"):
        report.problems.append("the backup file is not the one the manifest describes")
    try:
        image = backup_crypto.decrypt(encrypted, identity)
    except backup_crypto.BackupKeyError as error:
        raise BackupError(str(error)) from None
    with in_memory(f"restore-{os.getpid()}", image):
        del image
        _compare(manifest, _facts(SCRATCH), report)
        _migrations(report)
        _against_checkpoints(manifest, checkpoints_from, report)
        if not report.problems:
            report.notes.append(
                f"{len(manifest.tables())} tables, the audit head, the migrations and "
                f"{manifest.values.get('reports', '0').split()[0]} month(s) of reports match"
            )
    if compare_live:
        _against_live(manifest, report)
    return report
