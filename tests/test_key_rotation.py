"""Key rotation: after `rotate_encryption_key`, an old key opens nothing in the database."""

import io
import json
import os
import signal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from audit.models import AuditEntry
from audit.services import record
from cases.access import fingerprint_backlog
from cases.models import CaseNote
from cases.selectors import earlier_requests
from cases.services import add_note
from encryption.fields import Keyring, Sealed, UndecryptableValue
from encryption.fingerprint import fingerprints_for
from encryption.rotation import encrypted_tables, rotate_encryption_key
from intake.models import HelpRequest, RequestMessage
from intake.services import post_requester_message
from tests.content_keys import fingerprint, opened, organisation_keys
from tests.factories import CaseFactory, HelpRequestFactory, UserFactory
from tests.intake_helpers import submit

pytestmark = pytest.mark.django_db

KEY_A = "rotation-test-key-A-" + "a" * 40
KEY_B = "rotation-test-key-B-" + "b" * 40
KEY_LOST = "rotation-test-key-lost-" + "c" * 40
REQUEST_FIELDS = ("contact", "alias", "narrative", "precise_location", "unit")


def use_keys(settings, current: str, *old: str) -> None:
    settings.ENCRYPTION_KEY = current
    settings.ENCRYPTION_OLD_KEYS = list(old)


def keyring_of(secret: str) -> Keyring:
    """A keyring that knows this one key and nothing else."""
    with override_settings(ENCRYPTION_KEY=secret, ENCRYPTION_OLD_KEYS=[]):
        return Keyring()


def rotate(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_encryption_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def make_cases(count: int) -> dict[tuple[str, str, int], str]:
    """Requests with every encrypted field set, each with a case, a note and a
    message; returns {(model, field, pk): plaintext}."""
    written = {}
    author = UserFactory()
    for n in range(count):
        values = {name: f"{name} of person {n}" for name in REQUEST_FIELDS}
        values["contact"] = f"@person_{n}"
        request = HelpRequestFactory(**values)
        case = CaseFactory(request=request)
        note = add_note(case, f"note on person {n}", author=author)
        message = post_requester_message(request, f"message from person {n}")
        for name, value in values.items():
            written["intake.HelpRequest", name, request.pk] = value
        written["cases.CaseNote", "body", note.pk] = f"note on person {n}"
        written["intake.RequestMessage", "body", message.pk] = f"message from person {n}"
    return written


def raw_values() -> dict[tuple[str, str, int], bytes]:
    """Every non-empty encrypted value in the database, as stored."""
    found = {}
    quote = connection.ops.quote_name
    for table in encrypted_tables():
        meta = table.model._meta
        for field in table.fields:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote(meta.pk.column)}, {quote(field.column)} "  # noqa: S608
                    f"FROM {quote(meta.db_table)} WHERE {quote(field.column)} IS NOT NULL"
                )
                for pk, value in cursor.fetchall():
                    found[table.label, field.name, pk] = bytes(value)
    return found


def stored_fingerprints() -> dict[int, str]:
    return dict(HelpRequest.objects.values_list("pk", "contact_fingerprint"))


def request_pks() -> list[int]:
    return sorted(HelpRequest.objects.values_list("pk", flat=True))


def read_back(key: tuple[str, str, int]) -> tuple[bytes, str]:
    """What the ORM gives (still sealed) and what a caseworker opens."""
    label, field, pk = key
    model = {"intake.HelpRequest": HelpRequest, "intake.RequestMessage": RequestMessage}.get(
        label, CaseNote
    )
    instance = model.objects.get(pk=pk)
    value = getattr(instance, field)
    assert isinstance(value, Sealed), key
    return bytes(value), opened(instance, field)[field]


def test_it_finds_every_encrypted_column():
    columns = {(table.label, field.name) for table in encrypted_tables() for field in table.fields}

    expected = {("intake.HelpRequest", name) for name in REQUEST_FIELDS}
    expected |= {("intake.RequestMessage", "body"), ("cases.CaseNote", "body")}
    assert expected <= columns


def test_after_rotation_only_the_new_key_opens_anything(settings):
    use_keys(settings, KEY_A)
    written = make_cases(3)
    anonymous = HelpRequestFactory(contact="", narrative="no contact given")
    written["intake.HelpRequest", "narrative", anonymous.pk] = "no contact given"
    sealed_before = {key: keyring_of(KEY_A).decrypt(token) for key, token in raw_values().items()}
    fingerprints_before = stored_fingerprints()

    use_keys(settings, KEY_B, KEY_A)
    out, err = rotate()
    use_keys(settings, KEY_B)

    summary, rewrite = out.strip().splitlines()
    assert summary == (
        f"Re-encrypted {len(written)} values in {3 * 3 + 1} rows; 0 were already current."
    )
    assert "until these tables are rewritten" in rewrite
    assert "intake.HelpRequest: 4/4 rows, 16 values re-encrypted" in err
    stored = raw_values()
    assert stored.keys() == written.keys()
    old, new = keyring_of(KEY_A), keyring_of(KEY_B)
    for key, token in stored.items():
        assert not old.is_current(token), key
        with pytest.raises(UndecryptableValue):
            old.decrypt(token)
        # Only the at-rest layer changes: the sealed content inside is the same,
        # and still opens to what was written.
        sealed, text = read_back(key)
        assert new.decrypt(token) == sealed_before[key] == sealed
        assert text == written[key]
    # Fingerprints are keyed from the organisation key: the rotation leaves them be.
    assert stored_fingerprints() == fingerprints_before
    for pk, stored_fingerprint in fingerprints_before.items():
        contact = opened(HelpRequest.objects.get(pk=pk), "contact")["contact"]
        assert stored_fingerprint == fingerprint(contact)
    assert stored_fingerprints()[anonymous.pk] == ""


def test_a_repeat_requester_is_still_recognised(settings, client):
    use_keys(settings, KEY_A)
    submit(client, contact="+7 (900) 123-45-67")
    first = HelpRequest.objects.get()
    # A caseworker's session fingerprints it while KEY_A is the at-rest key.
    assert fingerprint_backlog(organisation_keys(), 100) == 1

    use_keys(settings, KEY_B, KEY_A)
    rotate()
    use_keys(settings, KEY_B)
    submit(client, contact="89001234567")
    second = HelpRequest.objects.exclude(pk=first.pk).get()
    assert fingerprint_backlog(organisation_keys(), 100) == 1

    contact = opened(second, "contact")["contact"]
    earlier = earlier_requests(second, fingerprints_for(organisation_keys(), contact))
    assert [row["reference"] for row in earlier] == [first.reference]


def test_an_interrupted_run_resumes_where_it_stopped(settings):
    use_keys(settings, KEY_A)
    written = make_cases(5)  # 5 requests × 5 values, 5 notes, 5 messages
    use_keys(settings, KEY_B, KEY_A)

    class Interrupted(Exception):
        pass

    def interrupt_after_two_batches(batch) -> None:
        if batch.rows_done == 4:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate_encryption_key(batch_size=2, progress=interrupt_after_two_batches)
    current = keyring_of(KEY_B)
    done = {key for key, token in raw_values().items() if current.is_current(token)}
    assert {pk for _label, _field, pk in done} == set(request_pks()[:4])
    assert len(done) == 4 * len(REQUEST_FIELDS)

    result = rotate_encryption_key(batch_size=2)

    assert (result.reencrypted, result.already_current) == (len(written) - len(done), len(done))
    assert all(current.is_current(token) for token in raw_values().values())
    for key in written:
        assert read_back(key)[1] == written[key]


def test_a_value_no_key_opens_stops_it_and_changes_nothing(settings):
    use_keys(settings, KEY_A)
    written = make_cases(2)
    use_keys(settings, KEY_LOST)
    lost = HelpRequestFactory(contact="@written_under_a_lost_key", narrative="lost story")
    use_keys(settings, KEY_B, KEY_A)
    before, fingerprints_before = raw_values(), stored_fingerprints()
    entries_before = AuditEntry.objects.filter(action="encryption.rotate").count()

    # HelpRequest is the only table walked before the stop, in one batch.
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("rotate_encryption_key", stdout=out, stderr=err)

    message = str(stopped.value)
    assert stopped.value.returncode != 0
    assert f"intake.HelpRequest.contact of the row with primary key {lost.pk}" in message
    assert "Nothing in that batch was changed" in message
    assert raw_values() == before
    assert stored_fingerprints() == fingerprints_before
    said = message + out.getvalue() + err.getvalue()
    for secret in ("written_under_a_lost_key", "lost story", *written.values(), KEY_A, KEY_B):
        assert secret not in said
    assert KEY_LOST not in said
    entry = AuditEntry.objects.filter(action="encryption.rotate").first()
    assert AuditEntry.objects.filter(action="encryption.rotate").count() == entries_before + 1
    assert entry.detail["complete"] is False


def test_a_dry_run_counts_and_writes_nothing(settings):
    use_keys(settings, KEY_A)
    written = make_cases(2)
    use_keys(settings, KEY_B, KEY_A)
    before, fingerprints_before = raw_values(), stored_fingerprints()
    entries_before = AuditEntry.objects.count()

    out, err = rotate("--dry-run", "--batch-size", "1")

    assert out.strip() == (
        f"Dry run, nothing written: would re-encrypt {len(written)} values in 6 rows; "
        "0 were already current."
    )
    assert "intake.HelpRequest: 1/2 rows, 5 values to re-encrypt" in err
    assert raw_values() == before
    assert stored_fingerprints() == fingerprints_before
    assert AuditEntry.objects.count() == entries_before


def test_without_old_keys_it_checks_that_every_value_opens(settings):
    use_keys(settings, KEY_B)
    written = make_cases(2)
    before = raw_values()

    out, err = rotate()

    assert "No ENCRYPTION_OLD_KEYS configured" in err
    assert out.strip() == (f"Re-encrypted 0 values in 0 rows; {len(written)} were already current.")
    assert raw_values() == before


def test_the_audit_log_gets_counts_and_nothing_else(settings):
    use_keys(settings, KEY_A)
    written = make_cases(2)
    use_keys(settings, KEY_B, KEY_A)

    rotate()

    entry = AuditEntry.objects.filter(action="encryption.rotate").get()
    assert entry.actor == ""
    assert entry.detail["complete"] is True
    assert entry.detail["reencrypted"] == len(written)
    assert entry.detail["old_keys"] == 1
    logged = json.dumps(entry.detail) + entry.target
    for secret in (*written.values(), KEY_A, KEY_B):
        assert secret not in logged


def test_it_rejects_a_batch_size_below_one():
    with pytest.raises(CommandError, match="--batch-size must be 1 or more, not 0"):
        rotate("--batch-size", "0")


def test_a_run_is_audited_when_it_starts_and_when_it_ends(settings):
    use_keys(settings, KEY_A)
    make_cases(1)
    use_keys(settings, KEY_B, KEY_A)

    rotate()

    start = AuditEntry.objects.get(action="encryption.rotate_start")
    end = AuditEntry.objects.get(action="encryption.rotate")
    assert start.seq < end.seq
    assert start.detail == {"old_keys": 1, "batch_size": 1000}
    assert end.detail["start_entry"] == start.seq
    assert end.detail["complete"] is True


def test_an_interrupted_run_is_audited_as_unfinished(settings):
    use_keys(settings, KEY_A)
    make_cases(3)
    use_keys(settings, KEY_B, KEY_A)

    def interrupt_after_the_first_batch(batch) -> None:
        raise KeyboardInterrupt  # what Ctrl+C does at that moment

    with pytest.raises(KeyboardInterrupt):
        rotate_encryption_key(batch_size=1, progress=interrupt_after_the_first_batch)

    start = AuditEntry.objects.get(action="encryption.rotate_start")
    end = AuditEntry.objects.get(action="encryption.rotate")
    assert end.detail["start_entry"] == start.seq
    assert end.detail["complete"] is False
    assert end.detail["stopped_by"] == "KeyboardInterrupt"
    assert end.detail["rows"] == 1
    # The batch done before the interruption left old-key values in dead rows.
    assert end.detail["rewrite_tables"] == ["intake_helprequest"]


class TerminatedAtFirstProgress(io.StringIO):
    """stderr that gets the process a SIGTERM (systemctl stop) once work is under way."""

    def write(self, text: str) -> int:
        if " rows, " in text:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().write(text)


def test_a_run_stopped_by_sigterm_is_audited_as_unfinished(settings):
    use_keys(settings, KEY_A)
    make_cases(3)
    use_keys(settings, KEY_B, KEY_A)

    class Terminated(Exception):
        """Instead of this test run dying, should the command not handle SIGTERM."""

    def terminated(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        with pytest.raises((SystemExit, Terminated)):
            call_command(
                "rotate_encryption_key",
                "--batch-size",
                "1",
                stdout=io.StringIO(),
                stderr=TerminatedAtFirstProgress(),
            )
        assert signal.getsignal(signal.SIGTERM) is terminated  # given back
    finally:
        signal.signal(signal.SIGTERM, previous)

    start = AuditEntry.objects.get(action="encryption.rotate_start")
    end = AuditEntry.objects.filter(action="encryption.rotate").first()
    assert end is not None, "the stopped run left no end entry"
    assert end.detail["start_entry"] == start.seq
    assert end.detail["complete"] is False
    assert end.detail["stopped_by"] == "SystemExit"


def test_the_next_run_names_a_run_that_never_ended(settings):
    use_keys(settings, KEY_A)
    make_cases(1)
    use_keys(settings, KEY_B, KEY_A)
    # What a run killed with SIGKILL leaves: a start and nothing after it.
    killed = record("encryption.rotate_start", old_keys=1, batch_size=1000)

    rotate()

    latest = AuditEntry.objects.filter(action="encryption.rotate_start").first()
    assert latest.detail["unfinished_run"] == killed.seq
    rotate()
    assert (
        "unfinished_run"
        not in AuditEntry.objects.filter(action="encryption.rotate_start").first().detail
    )
