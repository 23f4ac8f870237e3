"""
Signed checkpoints of the audit chain, kept off the database.

Each tampering story is done with the database owner's rights only (the
`tamper` helper, and the ORM for reading and appending), as a stolen superuser
password or a coerced operator would: the plain chain check then says
"intact", and only the checkpoints delivered off the database notice.
"""

import io
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import tasks
from audit.models import GENESIS_HASH, AuditEntry, SignedCheckpoint
from audit.services import record
from tests.factories import CaseFactory
from tests.staffing import sign_in
from tests.test_audit import tamper
from tests.test_settings import manage

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 12, 7, 9, tzinfo=UTC)


def make_key(folder, name: str = "signing.pem") -> str:
    """A new signing key file; returns its public key as the command prints it."""
    out = io.StringIO()
    call_command("make_audit_signing_key", str(folder / name), stdout=out)
    return out.getvalue().split("Public key: ")[1].strip()


@pytest.fixture
def signing(settings, tmp_path):
    """Checkpoints on: a key file, its public key trusted, a folder as the store."""
    public = make_key(tmp_path)
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "signing.pem")
    settings.AUDIT_CHECKPOINT_PUBLIC_KEYS = [public]
    store = tmp_path / "store"
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_checkpoints": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(store)},
        },
    }
    return store


def entries(n: int, label: str = "T") -> None:
    for i in range(n):
        record("test.event", actor="alice", target=f"{label}-{i}", number=i)


def checkpoint(at: datetime = HOUR) -> SignedCheckpoint:
    return tasks.checkpoints.make_checkpoint(now=at)


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit_log", *args, stdout=out, stderr=out)
    return out.getvalue()


def refused(*args: str) -> str:
    """What verify_audit_log says on its way to a non-zero exit."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", *args, stdout=out, stderr=out)
    return out.getvalue() + str(failure.value)


def recompute_chain_and_head() -> None:
    """What the database's writer does after editing: every hash and the head, made to fit."""
    previous = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("seq"):
        entry.prev_hash = previous
        previous = entry.compute_hash()
        tamper(
            "UPDATE audit_auditentry SET prev_hash = %s, entry_hash = %s WHERE seq = %s",
            [entry.prev_hash, previous, entry.seq],
        )
    last = AuditEntry.objects.order_by("-seq").first()
    tamper("UPDATE audit_chainhead SET seq = %s, last_hash = %s", [last.seq, previous])


def test_a_checkpoint_is_signed_stored_and_proves_the_chain(signing):
    entries(5)
    out = io.StringIO()
    call_command("make_audit_checkpoint", stdout=out)

    text = out.getvalue()
    assert text.startswith("audit-checkpoint v1\nnumber: 1\nentries: 5\nhead: ")
    stored = SignedCheckpoint.objects.get()
    assert stored.stored and (signing / stored.stored_as).read_text() == stored.text
    assert "passes through all 1 signed checkpoints" in verify("--checkpoints")
    assert "passes through all 1 signed checkpoints" in verify("--checkpoints", str(signing))


def test_checkpoints_pasted_from_the_admins_mail_verify(signing, dave, mailoutbox, tmp_path):
    dave.user.email = "dave@example.org"
    dave.user.save()
    entries(3)
    checkpoint(HOUR)
    entries(3)
    checkpoint(HOUR + timedelta(hours=1))

    assert tasks.mail_audit_checkpoints() == 2
    assert mailoutbox[0].to == ["dave@example.org"]
    pasted = tmp_path / "pasted.txt"
    quoted = "\n".join(f"> {line}" for line in mailoutbox[0].body.splitlines())
    pasted.write_text(f"Forwarded message:\n{quoted}\n")
    assert "passes through all 2 signed checkpoints" in verify("--checkpoints", str(pasted))
    assert not SignedCheckpoint.objects.filter(mailed=False).exists()


def test_an_entry_changed_after_a_checkpoint_and_the_chain_recomputed_is_named(signing):
    entries(10)
    checkpoint(HOUR)
    entries(10)
    checkpoint(HOUR + timedelta(hours=1))
    cast = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    tamper(f"UPDATE audit_auditentry SET detail = {cast} WHERE seq = 15", ['{"n": 99}'])  # noqa: S608
    recompute_chain_and_head()

    # The chain alone is fooled; the checkpoints are not.
    assert verify().startswith("Audit log intact: 20 entries verified.")
    said = refused("--checkpoints")
    assert (
        "entry changed after a checkpoint: an entry from #11 to #20 is not what checkpoint #2"
        in said
    )
    assert "1 problem(s)" in said


def test_a_tail_cut_below_the_last_checkpoint_is_named(signing):
    entries(30)
    checkpoint()
    tamper("DELETE FROM audit_auditentry WHERE seq > %s", [20])
    recompute_chain_and_head()

    assert verify().startswith("Audit log intact: 20 entries verified.")
    said = refused("--checkpoints")
    assert "tail cut below the last checkpoint: checkpoint #1" in said
    assert "entries #21 to #30 were removed" in said


def test_a_history_replaced_after_a_checkpoint_is_named_a_fork(signing):
    entries(10)
    checkpoint(HOUR)
    entries(10, "real")
    checkpoint(HOUR + timedelta(hours=1))
    # Everything after checkpoint #1 is replaced by a history of the writer's
    # choosing, appended the ordinary way; the server goes on signing it.
    tamper("DELETE FROM audit_auditentry WHERE seq > %s", [10])
    tenth = AuditEntry.objects.get(seq=10)
    tamper("UPDATE audit_chainhead SET seq = 10, last_hash = %s", [tenth.entry_hash])
    entries(12, "invented")
    checkpoint(HOUR + timedelta(hours=2))

    assert verify().startswith("Audit log intact: 22 entries verified.")
    said = refused("--checkpoints")
    assert "rewritten history (fork): checkpoint #2" in said
    assert "checkpoint #3" in said and "they part after entry #10" in said


def test_a_checkpoint_signed_by_another_key_is_refused(signing, settings, tmp_path):
    entries(3)
    checkpoint(HOUR)
    make_key(tmp_path, "intruder.pem")
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "intruder.pem")
    entries(3)
    forged = checkpoint(HOUR + timedelta(hours=1))

    said = refused("--checkpoints")
    assert f"checkpoint #2 (2026-12-07 10:00 UTC, {forged.stored_as}, line 1)" in said
    assert f"is signed by an unknown key {forged.key_id}: refused" in said


def test_an_edited_checkpoint_is_refused(signing):
    entries(5)
    made = checkpoint()
    path = signing / made.stored_as
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    path.write_text(made.text.replace("entries: 5", "entries: 4"))

    said = refused("--checkpoints", str(signing))
    assert "checkpoint #1" in said and "does not match its signature: edited, refused" in said
    path.write_text(made.text.replace("number: 1", "number: one"))
    assert "is malformed or cut short: edited" in refused("--checkpoints", str(signing))


def test_a_missing_checkpoint_and_a_gap_longer_than_the_interval_are_named(signing):
    entries(2)
    checkpoint(HOUR)
    second = checkpoint(HOUR + timedelta(hours=1))
    checkpoint(HOUR + timedelta(hours=2))
    checkpoint(HOUR + timedelta(hours=5))
    (signing / second.stored_as).unlink()

    said = refused("--checkpoints")
    assert "gap: checkpoint #2 is missing between checkpoint #1" in said
    assert "gap: 3 hours between checkpoint #3" in said
    assert "longer than the interval of 1 h" in said


def test_failing_delivery_blocks_no_staff_work_is_retried_and_shown(
    signing, settings, client, alice, dave, mailoutbox, tmp_path
):
    dave.user.email = "dave@example.org"
    dave.user.save()
    (tmp_path / "not-a-folder").write_text("")
    working_store = settings.STORAGES["audit_checkpoints"]
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_checkpoints": {  # the bucket is unreachable
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-folder" / "store")},
        },
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 9, False

    case = CaseFactory()
    sign_in(client, alice)
    assert client.get(f"/staff/cases/{case.request.reference}/").status_code == 200
    assert tasks.make_audit_checkpoint() == 1  # the beat task finishes
    assert tasks.mail_audit_checkpoints() == 0
    assert client.get(f"/staff/cases/{case.request.reference}/").status_code == 200

    made = SignedCheckpoint.objects.get()
    assert not made.stored and not made.mailed and made.attempts == 1
    client.logout()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # logout forgets every cookie
    sign_in(client, dave)
    page = client.get("/staff/audit/").content.decode()
    assert "Last checkpoint: #1" in page
    assert "Not stored yet (" in page and "Mail to the admins failed (" in page

    settings.STORAGES = {**settings.STORAGES, "audit_checkpoints": working_store}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.deliver_audit_checkpoints() == 0

    made.refresh_from_db()
    assert made.stored and made.mailed and made.attempts == 2
    assert len(mailoutbox) == 1 and "number: 1" in mailoutbox[0].body
    page = client.get("/staff/audit/").content.decode()
    assert f"Stored as {made.stored_as}." in page and "Mailed to the admins." in page
    assert "passes through all 1 signed checkpoints" in verify("--checkpoints")


def test_without_a_signing_key_there_are_no_checkpoints_and_the_page_says_so(client, dave):
    entries(2)

    assert tasks.make_audit_checkpoint() == 0
    with pytest.raises(CommandError, match="no signing key: set AUDIT_SIGNING_KEY_FILE"):
        call_command("make_audit_checkpoint", stdout=io.StringIO())
    sign_in(client, dave)
    assert "Checkpoints are off" in client.get("/staff/audit/").content.decode()


def test_the_signing_key_is_its_owners_alone_and_never_overwritten(tmp_path):
    public = make_key(tmp_path)

    assert len(public) == 43
    assert stat.S_IMODE((tmp_path / "signing.pem").stat().st_mode) == 0o600
    with pytest.raises(CommandError, match="exists; a signing key is never overwritten"):
        make_key(tmp_path)


def test_the_verifier_names_a_bad_path_or_a_bad_key(signing):
    entries(1)
    checkpoint()

    with pytest.raises(CommandError, match="is neither a file nor a folder"):
        verify("--checkpoints", str(signing / "nowhere"))
    with pytest.raises(CommandError, match="is not an Ed25519 public key"):
        verify("--checkpoints", "--public-key", "not-a-key")
    with pytest.raises(CommandError, match="does not combine with --since-checkpoint"):
        verify("--checkpoints", "--since-checkpoint")


def test_beat_signs_every_interval_retries_often_and_mails_daily(settings):
    jobs = {job["task"]: job["schedule"] for job in settings.CELERY_BEAT_SCHEDULE.values()}

    assert settings.AUDIT_CHECKPOINT_HOURS == 1
    assert jobs["audit.make_checkpoint"].hour == set(range(24))
    assert jobs["audit.make_checkpoint"].minute == {0}
    assert jobs["audit.deliver_checkpoints"] == 600.0
    assert len(jobs["audit.mail_checkpoints"].hour) == 1


@pytest.mark.parametrize("interval", ["90m", "5h", "1d", "0h"])
def test_an_interval_checkpoints_cannot_keep_is_refused_at_start(interval):
    result = manage("check", DEBUG="1", AUDIT_CHECKPOINT_INTERVAL=interval)

    assert result.returncode != 0
    assert (
        f"AUDIT_CHECKPOINT_INTERVAL must be 1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h, not {interval!r}"
        in (result.stderr)
    )
