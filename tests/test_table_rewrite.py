"""
Erased and rotated values leave the database's files, not only its rows.

PostgreSQL keeps an updated or deleted row's old version in the table file
until the table is rewritten. These tests read the files the way someone
holding the server would (the data directory, as root) and look for the exact
ciphertext the database held before the purge or the rotation: with the key on
the same server, any of it found would open.
"""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEntry
from cases.models import CaseNote
from core.models import PendingRewrite
from core.storage import pending_tables, rewrite_pending
from intake.models import HelpRequest, RequestMessage
from tests.conftest import wait_for
from tests.test_key_rotation import KEY_A, KEY_B, keyring_of, make_cases, use_keys
from tests.test_retention import finished_long_ago, stored_quietly

pytestmark = pytest.mark.django_db(transaction=True)

PURGED_TABLES = [
    "cases_casenote",
    "intake_attachment",
    "intake_helprequest",
    "intake_requestmessage",
]
# Long enough to be unique (version, time stamp, then 16 random IV bytes), short
# enough to sit whole in the first chunk of a value PostgreSQL moved to TOAST.
PREFIX = 48


def vacuum() -> str:
    return "VACUUM FULL" if connection.vendor == "postgresql" else "VACUUM"


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored_tokens() -> set[bytes]:
    """Every encrypted value the purge and rotation tests touch, as stored."""
    queries = [
        "SELECT contact FROM intake_helprequest",
        "SELECT narrative FROM intake_helprequest",
        "SELECT unit FROM intake_helprequest",
        "SELECT body FROM cases_casenote",
        "SELECT body FROM intake_requestmessage",
    ]
    tokens = set()
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            tokens |= {bytes(value) for (value,) in cursor.fetchall() if value is not None}
    return tokens


def table_files(tables: list[str]) -> list[Path]:
    """The current files of each table and of its TOAST table, or a skip saying why not."""
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's table files; SQLite's VACUUM rewrites the whole file")
    with connection.cursor() as cursor:
        try:
            # Dirty pages reach the files at a checkpoint: without one the
            # files could look clean only because nothing was written yet.
            cursor.execute("CHECKPOINT")
        except Exception as error:
            pytest.skip(
                f"CHECKPOINT needs superuser or pg_checkpoint here ({type(error).__name__})"
            )
        cursor.execute("SHOW data_directory")
        data_directory = Path(cursor.fetchone()[0])
        cursor.execute(
            "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(NULLIF(c.reltoastrelid, 0)) "
            "FROM pg_class c WHERE c.relname = ANY(%s)",
            [tables],
        )
        relative = [path for row in cursor.fetchall() for path in row if path]
    files = []
    for path in relative:
        first = data_directory / path
        try:
            first.stat()
        except OSError as error:
            pytest.skip(f"the database's files are not readable from here ({error.strerror})")
        files += [first, *sorted(first.parent.glob(f"{first.name}.[0-9]*"))]
    return files


def found_on_disk(tokens: set[bytes], tables: list[str]) -> set[bytes]:
    content = b"".join(path.read_bytes() for path in table_files(tables))
    return {token for token in tokens if token[:PREFIX] in content}


def purgeable_cases(settings, count: int = 5) -> None:
    settings.RETENTION_DAYS = 30
    for n in range(count):
        case = finished_long_ago(
            40,
            contact=f"@erased_{n}",
            narrative=f"story of person {n} that must go",
            unit=f"unit {n}",
        )
        stored_quietly(CaseNote(case=case), f"note on person {n}")
        stored_quietly(RequestMessage(request=case.request, sender="requester"), f"bye {n}")


def test_a_purge_leaves_erased_values_in_the_files_until_the_rewrite(settings):
    purgeable_cases(settings)
    erased = stored_tokens()
    assert len(erased) == 25
    assert found_on_disk(erased, PURGED_TABLES) == erased  # the scan sees what is there

    out = run("purge_expired")

    assert "until these tables are rewritten" in out
    assert "write-ahead log" in out and "backup" in out
    assert pending_tables() == PURGED_TABLES
    assert found_on_disk(erased, PURGED_TABLES)  # dead rows: still there


def test_purge_with_rewrite_now_leaves_no_erased_value_in_the_files(settings):
    purgeable_cases(settings)
    erased = stored_tokens()

    out = run("purge_expired", "--rewrite-now")

    assert f"Rewrote 4 table(s) with {vacuum()} in" in out
    assert (
        " s: cases_casenote, intake_attachment, intake_helprequest, intake_requestmessage." in out
    )
    assert "write-ahead log" in out
    assert HelpRequest.objects.filter(narrative__isnull=False).count() == 0
    assert pending_tables() == []
    assert found_on_disk(erased, PURGED_TABLES) == set()


def test_a_rotation_leaves_no_old_key_value_in_the_files(settings):
    use_keys(settings, KEY_A)
    make_cases(4)
    under_a = stored_tokens()
    old = keyring_of(KEY_A)
    assert all(old.is_current(token) for token in under_a)
    tables = ["cases_casenote", "intake_helprequest", "intake_requestmessage"]

    use_keys(settings, KEY_B, KEY_A)
    out = run("rotate_encryption_key", "--rewrite-now")

    assert f"with {vacuum()} in" in out
    assert not any(old.is_current(token) for token in stored_tokens())
    entry = AuditEntry.objects.filter(action="storage.rewrite").first()
    assert set(tables) <= set(entry.detail["tables"])
    assert found_on_disk(under_a, tables) == set()


def test_a_busy_table_waits_for_the_next_night(settings):
    purgeable_cases(settings, count=1)
    run("purge_expired")
    table_files(PURGED_TABLES)  # skips on SQLite, where nothing can hold a table this way
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE intake_helprequest IN ACCESS SHARE MODE")
            report = rewrite_pending(lock_timeout=1)
    finally:
        other.close()

    assert report.waiting == ["intake_helprequest"]
    assert report.rewritten == ["cases_casenote", "intake_attachment", "intake_requestmessage"]
    assert pending_tables() == ["intake_helprequest"]
    assert rewrite_pending().rewritten == ["intake_helprequest"]  # free again


def test_the_nightly_task_rewrites_what_the_purge_queued(settings, celery_worker_or_eager):
    from cases.tasks import purge_expired_cases
    from core.tasks import rewrite_tables

    purgeable_cases(settings, count=2)
    erased = stored_tokens()
    purge_expired_cases.delay()
    assert wait_for(lambda: PendingRewrite.objects.count() == len(PURGED_TABLES))

    rewrite_tables.delay()

    # The rewrite is audited last, once the list is emptied.
    assert wait_for(lambda: AuditEntry.objects.filter(action="storage.rewrite").exists())
    assert PendingRewrite.objects.count() == 0
    entry = AuditEntry.objects.filter(action="storage.rewrite").first()
    assert entry.detail["tables"] == PURGED_TABLES
    assert {"core.rewrite_tables", "cases.purge_expired"} <= {
        job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert found_on_disk(erased, PURGED_TABLES) == set()


def test_rewrite_tables_says_what_waits_and_rewrites_it(settings):
    assert run("rewrite_tables").strip() == "No table is waiting to be rewritten."
    purgeable_cases(settings, count=1)
    run("purge_expired")

    assert run("rewrite_tables", "--list").strip() == (
        "Tables waiting to be rewritten: "
        "cases_casenote, intake_attachment, intake_helprequest, intake_requestmessage."
    )
    out = run("rewrite_tables")

    assert f"Rewrote 4 table(s) with {vacuum()} in" in out
    assert pending_tables() == []


def test_a_dry_run_or_an_empty_purge_queues_nothing(settings):
    purgeable_cases(settings, count=1)
    run("purge_expired", "--dry-run")
    assert pending_tables() == []
    run("purge_expired")
    PendingRewrite.objects.all().delete()

    out = run("purge_expired")

    assert "Erased the content of 0 case(s)" in out
    assert "rewritten" not in out
    assert pending_tables() == []


def test_a_transaction_older_than_the_rewrite_keeps_the_tables_pending(settings):
    """Such a transaction might still see the erased rows, so VACUUM FULL would
    copy them into the new file: the rewrite waits, then leaves them for later."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no concurrent transactions to wait for")
    import psycopg

    purgeable_cases(settings)
    run("purge_expired")
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as older:
        # A report or an export reading in one snapshot: it holds that snapshot
        # (and no lock on the purged tables) until it ends.
        older.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        older.execute("SELECT count(*) FROM audit_auditentry")

        report = rewrite_pending(lock_timeout=1)

        assert report.rewritten == [] and report.waiting == PURGED_TABLES
        assert pending_tables() == PURGED_TABLES
    assert rewrite_pending(lock_timeout=1).rewritten == PURGED_TABLES
