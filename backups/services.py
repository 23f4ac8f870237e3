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

On PostgreSQL the same commands stream instead of copying: `pg_dump
--format=custom`, run on a snapshot exported by the transaction that reads the
manifest's figures (so both see the same rows), is piped through age into
`NAME.pgdump.age`; the attachments storage, when configured, is streamed as a
tar through age into `NAME.attachments.age` (its objects are ciphertext
already). `restore_check` creates a scratch database `tropa_restore_<random>`,
decrypts the dump as it pipes it into `pg_restore`, runs the same checks there,
and drops the scratch database whatever happens.
"""

import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess  # nosec B404: pg_dump and pg_restore, fixed argument lists
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
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
from reports.services import rebuild_reports

HEADER = "backup-manifest v1"
SCRATCH = "restore_check"
ATTACHMENTS = "attachments"  # a STORAGES alias, when the deployment has one
CHUNK = 1 << 20


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
    try:
        if image is not None:
            # deserialize() gives a private database; copy it into the shared one.
            loaded = sqlite3.connect(":memory:")
            loaded.deserialize(image)
            loaded.backup(keeper)
            loaded.close()
        sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": uri, "OPTIONS": {}}
        with routed_to({**connections.settings["default"], **sqlite}):
            yield keeper
    finally:
        keeper.close()


@contextmanager
def routed_to(settings_dict: dict) -> Iterator[None]:
    """
    The database `settings_dict` names, reachable by Django as the SCRATCH
    alias, with every ORM query routed to it while the block runs. A
    connection made here, not a configured database: it exists only in this
    thread and only for this block.
    """
    scratch = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, SCRATCH)
    connections[SCRATCH] = scratch
    try:
        with override_settings(DATABASE_ROUTERS=[_Everything(SCRATCH)]):
            yield
    finally:
        if scratch.connection is not None:
            scratch.connection.close()  # Django keeps in-memory databases open
        del connections[SCRATCH]


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
    rebuilt = rebuild_reports(months)
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
    """
    Write `tropa-<time>.sqlite3.age` (SQLite) or `tropa-<time>.pgdump.age`
    (PostgreSQL, and `.attachments.age` when there is an attachments storage)
    and its `.manifest` to `folder`.
    """
    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backup knows SQLite and PostgreSQL, not {connection.vendor}")
    if not checkpoint_key.signing_configured():
        raise BackupError("no signing key for the manifest: set AUDIT_SIGNING_KEY_FILE")
    if connection.in_atomic_block:
        # SQLite's backup waits for the source's write transaction to end:
        # inside one, for ever; PostgreSQL's snapshot must start a transaction.
        raise BackupError("a backup cannot be made inside a transaction")
    try:
        backup_crypto.recipients()
    except backup_crypto.BackupKeyError as error:
        raise BackupError(str(error)) from None
    hour = timezone.now().astimezone(UTC)
    if connection.vendor == "sqlite":
        return _backup_sqlite(folder / f"tropa-{hour:%Y%m%dT%H%M%S}Z.sqlite3", hour)
    return _backup_postgresql(folder / f"tropa-{hour:%Y%m%dT%H%M%S}Z.pgdump", hour)


def _write_new(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _manifest(stem: Path, database: str, hour, lines: list[str], facts: dict) -> Path:
    text = _signed_text(
        [
            HEADER,
            f"file: {stem.name}.age",
            f"database: {database}",
            f"hour: {hour:%Y-%m-%dT%H}Z",
            *lines,
            *(f"{name}: {value}" for name, value in facts.items()),
        ]
    )
    manifest = Path(f"{stem}.manifest")
    _write_new(manifest, text.encode())
    return manifest


def _backup_sqlite(stem: Path, hour) -> tuple[Path, Path]:
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
    archive = Path(f"{stem}.age")
    _write_new(archive, encrypted)
    lines = [f"sha256: {hashlib.sha256(encrypted).hexdigest()}", *_attachments_lines(stem)]
    return archive, _manifest(stem, "sqlite", hour, lines, facts)


class _Hashing:
    """A file being written that hashes what goes into it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()

    def write(self, data) -> int:
        self.sha256.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def _pg_env(settings_dict: dict) -> dict[str, str]:
    """libpq's environment for pg_dump and pg_restore: the password never on a command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    for name, key in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(name):
            env[key] = str(settings_dict[name])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    env["PGDATABASE"] = str(settings_dict["NAME"])
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return found


def _encrypted_to(path: Path, reader) -> str:
    """`reader` through age into a new file at `path`; returns the file's sha256."""
    part = Path(f"{path}.part")
    try:
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            hashing = _Hashing(handle)
            backup_crypto.encrypt_stream(reader, hashing)
        part.rename(path)
    finally:
        part.unlink(missing_ok=True)
    return hashing.sha256.hexdigest()


def _backup_postgresql(stem: Path, hour) -> tuple[Path, Path]:
    archive = Path(f"{stem}.age")
    with transaction.atomic(), connection.cursor() as cursor:
        # The figures and the dump read one snapshot: a request written while
        # the dump runs is in neither, never in one only.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        facts = _facts(DEFAULT_DB_ALIAS)
        with tempfile.TemporaryFile() as errors:  # pg_dump's messages, never data
            dump = subprocess.Popen(  # noqa: S603  # nosec B603: fixed arguments, no shell
                [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}"],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_pg_env(connection.settings_dict),
            )
            try:
                sha = _encrypted_to(archive, dump.stdout)
            finally:
                dump.stdout.close()
                failed = dump.wait()
            if failed:
                archive.unlink(missing_ok=True)
                errors.seek(0)
                message = errors.read().decode(errors="replace").strip().splitlines()
                raise BackupError(f"pg_dump failed: {message[-1] if message else failed}")
    lines = [f"sha256: {sha}", *_attachments_lines(stem)]
    return archive, _manifest(stem, "postgresql", hour, lines, facts)


def _attachments_lines(stem: Path) -> list[str]:
    """The attachments storage backed up beside the database, when there is one."""
    if ATTACHMENTS not in settings.STORAGES:
        return []
    count, listing, sha = _backup_attachments(stem)
    return [f"attachments: {count} {listing}", f"attachments sha256: {sha}"]


# --- attachments: their objects are ciphertext already; one tar through age ----------


def _attachment_names(storage, folder: str = "") -> Iterator[str]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # nothing stored yet
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for sub in sorted(folders):
        yield from _attachment_names(storage, f"{folder}/{sub}" if folder else sub)


def _listing_digest(pairs: list[tuple[str, str]]) -> str:
    return _digest(sorted(pairs))


def _backup_attachments(stem: Path) -> tuple[int, str, str]:
    """Every object of the attachments storage, as a tar streamed through age."""
    storage = storages[ATTACHMENTS]
    read_end, write_end = os.pipe()
    pairs: list[tuple[str, str]] = []
    failure: list[BaseException] = []

    def write_tar() -> None:
        try:
            with os.fdopen(write_end, "wb") as pipe, tarfile.open(fileobj=pipe, mode="w|") as tar:
                for name in _attachment_names(storage):
                    info = tarfile.TarInfo(name)
                    with storage.open(name) as handle:
                        data = handle.read()
                    info.size = len(data)
                    pairs.append((name, hashlib.sha256(data).hexdigest()))
                    tar.addfile(info, io.BytesIO(data))
        except BaseException as error:  # reported after the stream ends
            failure.append(error)

    writer = threading.Thread(target=write_tar, daemon=True)
    writer.start()
    path = Path(f"{stem}.attachments.age")
    with os.fdopen(read_end, "rb") as pipe:
        sha = _encrypted_to(path, pipe)
    writer.join()
    if failure:
        path.unlink(missing_ok=True)
        raise BackupError(f"the attachments could not be read: {type(failure[0]).__name__}")
    return len(pairs), _listing_digest(pairs), sha


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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def restore_check(
    archive: Path,
    identity: str,
    *,
    checkpoints_from: str | None = None,
    compare_live: bool = False,
) -> RestoreReport:
    """Restore `archive` into a scratch database, check everything it can, drop it."""
    manifest_path = archive.with_suffix(".manifest")
    if archive.suffix != ".age" or not archive.is_file() or not manifest_path.is_file():
        raise BackupError(f"{archive} is not a backup (NAME.age beside NAME.manifest)")
    manifest = read_manifest(manifest_path)
    report = RestoreReport(list(manifest.problems))
    if _file_sha256(archive) != manifest.values.get("sha256"):
        report.problems.append("the backup file is not the one the manifest describes")
    database = manifest.values.get("database")
    if database == "postgresql":
        _restore_postgresql(archive, identity, manifest, report, checkpoints_from)
    elif database == "sqlite":
        try:
            image = backup_crypto.decrypt(archive.read_bytes(), identity)
        except backup_crypto.BackupKeyError as error:
            raise BackupError(str(error)) from None
        with in_memory(f"restore-{os.getpid()}", image):
            del image
            _check_scratch(manifest, report, checkpoints_from)
        _check_attachments_if_any(archive, identity, manifest, report)
    else:
        raise BackupError(f"the manifest names no database this code restores ({database})")
    if compare_live:
        _against_live(manifest, report)
    return report


def _check_scratch(manifest: Manifest, report: RestoreReport, where: str | None) -> None:
    """Everything checked in the restored copy, reachable as SCRATCH."""
    _compare(manifest, _facts(SCRATCH), report)
    _migrations(report)
    _against_checkpoints(manifest, where, report)
    if not report.problems:
        report.notes.append(
            f"{len(manifest.tables())} tables, the audit head, the migrations and "
            f"{manifest.values.get('reports', '0').split()[0]} month(s) of reports match"
        )


def _restore_postgresql(
    archive: Path, identity: str, manifest: Manifest, report: RestoreReport, where: str | None
) -> None:
    if connection.vendor != "postgresql":
        raise BackupError("a PostgreSQL backup is checked from a PostgreSQL deployment")
    if connection.in_atomic_block:
        raise BackupError("a restore check cannot run inside a transaction")
    restore = _tool("pg_restore")
    name = f"tropa_restore_{secrets.token_hex(6)}"
    scratch = {**connection.settings_dict, "NAME": name}
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    report.notes.append(f"restored into the scratch database {name}, dropped at the end")
    try:
        _pg_restore(restore, archive, identity, scratch, report)
        if not any(problem.startswith("pg_restore") for problem in report.problems):
            with routed_to(scratch):
                _check_scratch(manifest, report, where)
        _check_attachments_if_any(archive, identity, manifest, report)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_restore(
    restore: str, archive: Path, identity: str, scratch: dict, report: RestoreReport
) -> None:
    """The dump, decrypted as it is read, piped into pg_restore: never a plain file."""
    with tempfile.TemporaryFile() as errors:  # pg_restore's messages, never data
        process = subprocess.Popen(  # noqa: S603  # nosec B603: fixed arguments, no shell
            [restore, "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={scratch['NAME']}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=_pg_env(scratch),
        )
        refused = None
        try:
            with archive.open("rb") as handle:
                backup_crypto.decrypt_stream(handle, process.stdin, identity)
        except backup_crypto.BackupKeyError as error:
            refused = error
        except OSError:
            pass  # pg_restore stopped reading: its exit status says why
        finally:
            with suppress(OSError):
                process.stdin.close()
            if refused is not None:
                process.kill()
            failed = process.wait()
        if refused is not None:
            raise BackupError(str(refused))
        if failed:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            report.problems.append(
                f"pg_restore failed (exit {failed}): {lines[0] if lines else 'no message'}"
            )


def _check_attachments_if_any(
    archive: Path, identity: str, manifest: Manifest, report: RestoreReport
) -> None:
    attachments = Path(str(archive).removesuffix(".age") + ".attachments.age")
    if "attachments" in manifest.values or attachments.exists():
        _check_attachments(attachments, identity, manifest, report)


def _check_attachments(
    path: Path, identity: str, manifest: Manifest, report: RestoreReport
) -> None:
    """The attachments' tar opens, and holds exactly the objects the manifest lists."""
    if not path.is_file():
        report.problems.append(f"attachments: the manifest lists them, {path.name} is missing")
        return
    if _file_sha256(path) != manifest.values.get("attachments sha256"):
        report.problems.append("attachments: the file is not the one the manifest describes")
    read_end, write_end = os.pipe()
    pairs: list[tuple[str, str]] = []
    failure: list[BaseException] = []

    def read_tar() -> None:
        try:
            with os.fdopen(read_end, "rb") as pipe, tarfile.open(fileobj=pipe, mode="r|") as tar:
                for member in tar:
                    data = tar.extractfile(member).read() if member.isfile() else b""
                    pairs.append((member.name, hashlib.sha256(data).hexdigest()))
        except BaseException as error:  # reported after the stream ends
            failure.append(error)

    reader = threading.Thread(target=read_tar, daemon=True)
    reader.start()
    try:
        with path.open("rb") as handle, os.fdopen(write_end, "wb") as pipe:
            backup_crypto.decrypt_stream(handle, pipe, identity)
    except (backup_crypto.BackupKeyError, OSError) as error:
        # Named before whatever the tar reader then made of a stream cut short.
        failure.insert(0, error)
    reader.join()
    restored = f"{len(pairs)} {_listing_digest(pairs)}"
    if failure:
        report.problems.append(f"attachments: cannot be opened ({type(failure[0]).__name__})")
    elif restored != manifest.values.get("attachments"):
        report.problems.append(
            f"attachments: the manifest says {manifest.values.get('attachments', 'nothing')}, "
            f"the backup holds {restored}"
        )
    else:
        report.notes.append(f"{len(pairs)} attachment object(s) match")


# --- restoring for real: into the configured database, only when it is empty ----------


def restore_into_empty(archive: Path, identity: str) -> RestoreReport:
    """
    Restore a backup whose manifest holds (signature and file) into the
    configured database, which must have no table at all: a restore never
    overwrites data. The dump streams from age into pg_restore (PostgreSQL) or
    from memory into the database file (SQLite).
    """
    manifest_path = archive.with_suffix(".manifest")
    if archive.suffix != ".age" or not archive.is_file() or not manifest_path.is_file():
        raise BackupError(f"{archive} is not a backup (NAME.age beside NAME.manifest)")
    manifest = read_manifest(manifest_path)
    report = RestoreReport(list(manifest.problems))
    if _file_sha256(archive) != manifest.values.get("sha256"):
        report.problems.append("the backup file is not the one the manifest describes")
    if report.problems:
        return report  # nothing restored from a backup that does not prove itself
    if connection.introspection.table_names():
        raise BackupError("the database is not empty: a restore goes into an empty one only")
    database = manifest.values.get("database")
    if database != connection.vendor:
        raise BackupError(f"a {database} backup cannot go into {connection.vendor}")
    if database == "postgresql":
        _pg_restore(_tool("pg_restore"), archive, identity, connection.settings_dict, report)
    else:
        try:
            image = backup_crypto.decrypt(archive.read_bytes(), identity)
        except backup_crypto.BackupKeyError as error:
            raise BackupError(str(error)) from None
        loaded = sqlite3.connect(":memory:")
        loaded.deserialize(image)
        del image
        connection.ensure_connection()
        loaded.backup(connection.connection)
        loaded.close()
    if not report.problems:
        report.notes.append(f"restored {len(manifest.tables())} tables from {archive.name}")
    return report
