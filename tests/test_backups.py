"""
Backups proven by restoring them (SQLite): encrypted before they touch a disk,
a signed manifest, and a restore into a scratch database that checks the
figures, the audit chain against the checkpoints, the migrations and the
reports, and names what the backup is missing.
"""

import io
import re
import sys
from datetime import date

import pyrage
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import checkpoints
from audit.services import record
from reports.services import store_report
from tests.factories import CaseFactory
from tests.test_audit_checkpoints import signing  # noqa: F401 (a fixture)

# A backup is made outside any transaction, as the command runs: SQLite's
# backup would wait for the test's own transaction to end.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("signing")]


@pytest.fixture
def backup_keys(settings, tmp_path):
    """An offline identity, and the server's file naming only its public half."""
    identity = pyrage.x25519.Identity.generate()
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# the backup key holders\n{identity.to_public()}\n")
    settings.BACKUP_RECIPIENTS_FILE = str(recipients)
    return str(identity)


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "backups"
    path.mkdir()
    return path


def some_work() -> None:
    for _ in range(3):
        CaseFactory(request__narrative="SECRET-NARRATIVE")
    record("case.view", actor="alice", target="GL-AAAA-AAAA")
    store_report(date.today().replace(day=1))


def scratch_database_left(out: str) -> bool:
    """Does the scratch database the restore check names still exist?"""
    name = re.search(r"scratch database (tropa_restore_[0-9a-f]+)", out)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def back_up(folder) -> str:
    out = io.StringIO()
    call_command("backup", "--to", str(folder), stdout=out)
    return out.getvalue().splitlines()[0].removeprefix("Backup: ")


def restore_check(monkeypatch, archive: str, identity: str, *args: str) -> tuple[str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{identity}\n"))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("restore_check", archive, *args, stdout=out, stderr=err)
    except CommandError as failure:
        return out.getvalue(), err.getvalue() + str(failure)
    return out.getvalue(), ""


def test_a_backup_is_encrypted_and_its_manifest_signed(backup_keys, folder):
    some_work()
    archive = back_up(folder)

    # The database, the attachment storage (empty here, but always there to
    # compare), and the manifest.
    files = sorted(path.name for path in folder.iterdir())
    assert [name.rsplit(".", 1)[1] for name in files] == ["age", "age", "manifest"]
    for name in files[:2]:
        data = (folder / name).read_bytes()
        assert data.startswith(b"age-encryption.org/v1")
        assert b"SQLite format 3" not in data and b"PGDMP" not in data
        assert b"SECRET-NARRATIVE" not in data
    manifest = next(folder.glob("*.manifest")).read_text()
    assert manifest.startswith("backup-manifest v1\n")
    assert "table intake_helprequest: 3\n" in manifest and "reports: 1 " in manifest
    assert archive.endswith(".sqlite3.age" if connection.vendor == "sqlite" else ".pgdump.age")


def test_the_restore_drill_proves_the_backup_and_names_what_came_after(
    backup_keys,
    folder,
    monkeypatch,
):
    some_work()
    checkpoints.make_checkpoint()
    archive = back_up(folder)

    # The database's and the attachments' archives and the manifest; no .part left.
    assert sorted(p.suffix for p in folder.iterdir()) == [".age", ".age", ".manifest"]

    out, problems = restore_check(monkeypatch, archive, backup_keys)
    assert problems == ""
    assert "the audit chain passes through 1 checkpoint(s)" in out
    assert "1 month(s) of reports match" in out and "scratch database is dropped" in out
    if connection.vendor == "postgresql":
        assert not scratch_database_left(out)

    CaseFactory()  # a request submitted after the backup
    out, problems = restore_check(monkeypatch, archive, backup_keys, "--compare-live")
    assert "table intake_helprequest: 4 rows live, 3 in the backup (+1 since it was made" in (
        problems
    )
    assert "Restore check FAILED" in problems


def test_an_edited_manifest_or_a_swapped_file_fails_the_restore_check(
    backup_keys,
    folder,
    monkeypatch,
):
    some_work()
    checkpoints.make_checkpoint()
    archive = back_up(folder)
    manifest = folder / archive.replace(".age", ".manifest")
    text = manifest.read_text()
    manifest.write_text(text.replace("table intake_helprequest: 3", "table intake_helprequest: 2"))

    _out, problems = restore_check(monkeypatch, archive, backup_keys)
    assert "the manifest does not match its signature: edited" in problems
    assert "table intake_helprequest: the manifest says 2, the restored copy has 3" in problems


def test_the_wrong_identity_opens_nothing(backup_keys, folder, monkeypatch):
    some_work()
    archive = back_up(folder)
    stranger = str(pyrage.x25519.Identity.generate())

    _out, problems = restore_check(monkeypatch, archive, stranger)
    assert "this identity does not open this backup" in problems
    _out, problems = restore_check(monkeypatch, archive, "not a key")
    assert "that is not an age identity" in problems


def test_no_backup_without_recipients_or_a_signing_key(settings, folder):
    settings.BACKUP_RECIPIENTS_FILE = ""
    with pytest.raises(CommandError, match="No backup made: BACKUP_RECIPIENTS_FILE is not set"):
        back_up(folder)
    settings.AUDIT_SIGNING_KEY_FILE = ""
    with pytest.raises(CommandError, match="No backup made: no signing key"):
        back_up(folder)
    assert list(folder.iterdir()) == []


# --- PostgreSQL: pg_dump and pg_restore through age, a scratch database ------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_dump and pg_restore: runs when DATABASE_URL is PostgreSQL (as in CI)",
)


@postgresql_only
def test_on_postgresql_a_backup_that_is_not_a_dump_fails_and_the_scratch_database_is_dropped(
    backup_keys, folder, monkeypatch
):
    some_work()
    archive = folder / back_up(folder)
    # The right keys, the wrong content: what pg_restore is given is no dump.
    archive.write_bytes(
        pyrage.encrypt(b"not a dump", [pyrage.x25519.Identity.from_str(backup_keys).to_public()])
    )

    out, problems = restore_check(monkeypatch, str(archive), backup_keys)
    assert "the backup file is not the one the manifest describes" in problems
    assert "pg_restore failed" in problems
    assert not scratch_database_left(out)


def test_the_attachments_storage_is_backed_up_and_checked(
    backup_keys, folder, monkeypatch, settings, tmp_path
):
    stored = tmp_path / "attachments"
    (stored / "2026" / "12").mkdir(parents=True)
    (stored / "2026" / "12" / "a.bin").write_bytes(b"ciphertext one")
    (stored / "b.bin").write_bytes(b"ciphertext two")
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(stored)},
        },
    }
    some_work()
    checkpoints.make_checkpoint()
    archive = folder / back_up(folder)
    attachments = folder / archive.name.replace(".age", ".attachments.age")
    assert attachments.read_bytes().startswith(b"age-encryption.org/v1")
    assert b"ciphertext one" not in attachments.read_bytes()
    assert "attachments: 2 " in archive.with_suffix(".manifest").read_text()

    out, problems = restore_check(monkeypatch, str(archive), backup_keys)
    assert problems == "" and "2 attachment object(s) match" in out

    # Another tar, to another key: the digest differs, and the backup key cannot open it.
    stranger = pyrage.x25519.Identity.generate().to_public()
    attachments.write_bytes(pyrage.encrypt(b"", [stranger]))
    _out, problems = restore_check(monkeypatch, str(archive), backup_keys)
    assert "attachments: the file is not the one the manifest describes" in problems
    assert "attachments: cannot be opened (BackupKeyError)" in problems

    attachments.unlink()
    _out, problems = restore_check(monkeypatch, str(archive), backup_keys)
    assert "attachments: the manifest lists them" in problems


def restore_backup(monkeypatch, archive: str, identity: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{identity}\n"))
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("restore_backup", archive, stdout=io.StringIO(), stderr=err)
    return err.getvalue() + str(failure.value)


def test_restore_backup_goes_into_an_empty_database_only_and_never_from_an_edited_backup(
    backup_keys, folder, monkeypatch
):
    some_work()
    archive = back_up(folder)

    refused = restore_backup(monkeypatch, archive, backup_keys)
    assert "Nothing restored: the database is not empty" in refused

    manifest = folder / archive.replace(".age", ".manifest")
    manifest.write_text(
        manifest.read_text().replace("intake_helprequest: 3", "intake_helprequest: 9")
    )
    refused = restore_backup(monkeypatch, archive, backup_keys)
    assert "the manifest does not match its signature: edited" in refused
    assert "Restore FAILED" in refused
