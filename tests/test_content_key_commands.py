"""
The content-key commands as an operator runs them (docs/encryption.md,
"Lifecycle" and "Migration"): `rotate_content_key`, `fingerprint_requests`,
`seal_content`, and what `recover_access` and `shred_content_keys` do with bad
input. Passwords and keys are typed at the prompt (fed on standard input
here), never given on the command line. A command that cannot do its work
says why and changes nothing.
"""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditEntry
from cases import services as case_services
from cases.models import Case, CaseNote
from encryption import content
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.fields import Sealed, Unsealed, keyring
from encryption.fingerprint import normalise_contact
from encryption.models import ContentGrant, KeyEnvelope, OrganisationKey
from encryption.padding import pad
from intake.models import HelpRequest
from intake.services import submit_request
from tests.content_keys import fingerprint, opened
from tests.csvdata import csv_row, write_csv
from tests.staffing import PASSWORD, make_staff, sign_in
from tests.test_accessibility import request_record

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CONTACT = "+7 (900) 765-43-21"
NARRATIVE = "A narrative written before the rotation 5511"
NOTE = "A note written before the rotation 5512"


def run(monkeypatch, command: str, *args: str, typed: tuple[str, ...] = ()) -> tuple[str, str]:
    """The command with `typed` as the lines an operator types at its prompts."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in typed)))
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(monkeypatch, command: str, *args: str, typed: tuple[str, ...] = ()) -> str:
    with pytest.raises(CommandError) as failure:
        run(monkeypatch, command, *args, typed=typed)
    return str(failure.value)


def key_state() -> list[tuple]:
    """Everything a content-key command could change, to compare before and after."""
    return [
        sorted(OrganisationKey.objects.values_list("pk", "state")),
        sorted(ContentGrant.objects.values_list("user_id", "organisation_key_id")),
        sorted(KeyEnvelope.objects.values_list("pk", "organisation_key_id")),
        sorted(HelpRequest.objects.values_list("pk", "contact_fingerprint")),
        AuditEntry.objects.count(),
    ]


@pytest.fixture
def earlier_request(alice):
    """A request from CONTACT with a staff note, fingerprinted under the current key."""
    submission = submit_request(request_record(narrative=NARRATIVE, contact=CONTACT))
    case = Case.objects.get(request=submission.help_request)
    case_services.add_note(case, NOTE, author=alice.user)
    HelpRequest.objects.filter(pk=submission.help_request.pk).update(
        contact_fingerprint=fingerprint(CONTACT)
    )
    return submission.help_request


# --- rotate_content_key ------------------------------------------------------------------


def test_a_rotation_makes_a_new_key_that_still_opens_the_old_content(
    monkeypatch, client, alice, bob, earlier_request
):
    old = OrganisationKey.objects.get(state="active")

    out, err = run(monkeypatch, "rotate_content_key", "alice", typed=(PASSWORD,))

    new = OrganisationKey.objects.get(state="active")
    assert new.pk != old.pk
    old.refresh_from_db()
    assert old.state == "retired" and bytes(old.public_key) == b""
    assert not ContentGrant.objects.filter(organisation_key=old).exists()
    assert not KeyEnvelope.objects.filter(organisation_key=old).exists()
    assert "A new organisation key was made and granted." in err
    assert "1 old organisation key(s) destroyed" in out
    # Bob, granted before, holds the new key only, and it opens what was written before.
    bobs_keys = ContentKeys(key_services.unlock(bob.user, PASSWORD))
    assert bobs_keys.key_ids == [new.pk]
    request = HelpRequest.objects.get(pk=earlier_request.pk)
    assert bobs_keys.open_one(request, "narrative") == NARRATIVE
    assert bobs_keys.open_one(CaseNote.objects.get(), "body") == NOTE
    # ... and so does his next sign-in, through the pages.
    sign_in(client, bob)
    page = client.get(f"/staff/cases/{request.reference}/").content.decode()
    assert NARRATIVE in page and NOTE in page


def test_after_a_rotation_a_returning_requester_is_still_recognised(
    monkeypatch, client, alice, bob, earlier_request
):
    run(monkeypatch, "rotate_content_key", "alice", typed=(PASSWORD,))

    new = OrganisationKey.objects.get(state="active")
    stored = HelpRequest.objects.get(pk=earlier_request.pk).contact_fingerprint
    assert stored.startswith(f"k{new.pk}:")
    # The same person writes again, the number typed another way.
    assert normalise_contact("89007654321") == normalise_contact(CONTACT)
    again = submit_request(request_record(contact="89007654321")).help_request
    sign_in(client, bob)
    page = client.get(f"/staff/cases/{again.reference}/").content.decode()
    assert "The same contact appears on earlier requests:" in page
    assert earlier_request.reference in page


def test_a_rotation_is_audited(monkeypatch, alice, earlier_request):
    old = OrganisationKey.objects.get(state="active").pk

    run(monkeypatch, "rotate_content_key", "alice", typed=(PASSWORD,))

    new = OrganisationKey.objects.get(state="active").pk
    started = AuditEntry.objects.get(action="content_key.rotation_started")
    assert started.actor == "alice"
    assert started.detail["old_key"] == old and started.detail["new_key"] == new
    assert started.detail["reason"] == "rotate_content_key"
    retired = AuditEntry.objects.get(action="content_key.retired")
    assert retired.actor == "alice" and retired.detail["keys"] == [old]


def test_an_interrupted_rotation_resumes(monkeypatch, alice, earlier_request):
    # A rotation began (a revocation starts one) and nobody has re-sealed yet.
    old = OrganisationKey.objects.get(state="active")
    new = key_services.start_rotation(actor=alice.user, reason="revocation")
    assert KeyEnvelope.objects.filter(organisation_key=old).exists()

    out, err = run(monkeypatch, "rotate_content_key", "alice", typed=(PASSWORD,))

    assert "resuming" in err and "1 old organisation key(s) destroyed" in out
    assert OrganisationKey.objects.get(state="active") == new
    assert OrganisationKey.objects.get(pk=old.pk).state == "retired"
    assert not KeyEnvelope.objects.filter(organisation_key=old).exists()
    assert AuditEntry.objects.filter(action="content_key.rotation_started").count() == 1


@pytest.mark.parametrize("command", ["rotate_content_key", "fingerprint_requests"])
def test_a_wrong_password_changes_nothing(monkeypatch, command, alice, earlier_request):
    HelpRequest.objects.update(contact_fingerprint="")
    before = key_state()

    message = refused(monkeypatch, command, "alice", typed=("not alice's password",))

    assert message == "Wrong password."
    assert key_state() == before


@pytest.mark.parametrize("command", ["rotate_content_key", "fingerprint_requests"])
def test_only_an_active_caseworker_with_access_may_run_it(monkeypatch, command, earlier_request):
    make_staff("carol", "coordinator")
    make_staff("nina", "caseworker", with_access=False)
    gone = make_staff("gone", "caseworker")
    gone.user.is_active = False
    gone.user.save()
    HelpRequest.objects.update(contact_fingerprint="")
    before = key_state()

    for username in ("nobody", "carol", "gone"):
        message = refused(monkeypatch, command, username, typed=(PASSWORD,))
        assert message == f"{username!r} is not an active caseworker."
    message = refused(monkeypatch, command, "nina", typed=(PASSWORD,))
    assert message == "nina has no access to the content: a caseworker must grant it."

    assert key_state() == before


def test_a_refused_command_exits_non_zero(tmp_path):
    """As run from a shell: the error on standard error, exit status 1, nothing changed."""
    database = tmp_path / "operator.sqlite3"
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "create_staff", "first", "--role", "caseworker", "--json"],
        env={**env, "STAFF_PASSWORD": "a long first caseworker password"},
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    snapshot = database.read_bytes()

    for username, typed, said in [
        ("first", "a wrong password\n", "Wrong password."),
        ("nobody", "anything\n", "'nobody' is not an active caseworker."),
    ]:
        done = subprocess.run(
            [*manage, "rotate_content_key", username],
            env=env,
            cwd=ROOT,
            input=typed,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert said in done.stderr
        assert "Traceback" not in done.stderr
        assert typed.strip() not in done.stderr + done.stdout
    assert database.read_bytes() == snapshot


# --- fingerprint_requests ---------------------------------------------------------------


def test_after_an_import_every_request_gets_its_fingerprint(monkeypatch, tmp_path, alice):
    rows = [csv_row(n) for n in range(1, 6)]
    rows.append(csv_row(6, contact=""))
    call_command("import_requests", str(write_csv(tmp_path / "in.csv", rows)), stdout=io.StringIO())
    assert set(HelpRequest.objects.values_list("contact_fingerprint", flat=True)) == {""}

    out, err = run(monkeypatch, "fingerprint_requests", "alice", typed=(PASSWORD,))

    assert out.strip() == "Fingerprinted 5 requests."
    assert "  5 requests fingerprinted" in err
    for n in range(1, 6):
        stored = HelpRequest.objects.get(reference=f"HIST-{n:06d}")
        assert stored.contact_fingerprint == fingerprint(f"+7 900 555-{n:04d}")
    # A request without a contact has nothing to fingerprint and is left alone.
    assert HelpRequest.objects.get(reference="HIST-000006").contact_fingerprint == ""
    # Run again, there is nothing left to do.
    out, _err = run(monkeypatch, "fingerprint_requests", "alice", typed=(PASSWORD,))
    assert out.strip() == "Fingerprinted 0 requests."


def test_the_password_never_reaches_the_output(monkeypatch, alice, earlier_request):
    out, err = run(monkeypatch, "fingerprint_requests", "alice", typed=(PASSWORD,))
    assert PASSWORD not in out + err
    message = refused(monkeypatch, "fingerprint_requests", "alice", typed=("typed by mistake",))
    assert "typed by mistake" not in message


# --- seal_content -------------------------------------------------------------------------

OLD_CONTACT = "@from_before_content_keys"
OLD_NARRATIVE = "Stored before content keys existed 6601"
OLD_NOTE = "A note from before content keys 6602"


def as_stored_before_content_keys(help_request: HelpRequest, note: CaseNote) -> None:
    """What an installation from before content keys has: values under ENCRYPTION_KEY only,
    no wrapped key, and a fingerprint made with the server's own key (plain hex)."""

    def at_rest(text: str) -> bytes:
        return keyring().encrypt(pad(text.encode("utf-8")))

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_helprequest SET contact = %s, narrative = %s, alias = NULL, "
            "precise_location = NULL, unit = NULL, content_key = %s, contact_fingerprint = %s "
            "WHERE id = %s",
            [at_rest(OLD_CONTACT), at_rest(OLD_NARRATIVE), b"", "ab" * 32, help_request.pk],
        )
        cursor.execute(
            "UPDATE cases_casenote SET body = %s, item_key = %s WHERE id = %s",
            [at_rest(OLD_NOTE), b"", note.pk],
        )


@pytest.fixture
def unsealed(alice):
    submission = submit_request(request_record())
    case = Case.objects.get(request=submission.help_request)
    note = case_services.add_note(case, "replaced below", author=alice.user)
    as_stored_before_content_keys(submission.help_request, note)
    help_request = HelpRequest.objects.get(pk=submission.help_request.pk)
    assert isinstance(help_request.narrative, Unsealed)
    assert isinstance(CaseNote.objects.get(pk=note.pk).body, Unsealed)
    return help_request, note


def test_seal_content_seals_what_predates_content_keys(monkeypatch, unsealed):
    help_request, note = unsealed

    out, err = run(monkeypatch, "seal_content")

    stored = HelpRequest.objects.get(pk=help_request.pk)
    assert isinstance(stored.narrative, Sealed) and isinstance(stored.contact, Sealed)
    assert opened(stored, "contact", "narrative") == {
        "contact": OLD_CONTACT,
        "narrative": OLD_NARRATIVE,
    }
    assert opened(CaseNote.objects.get(pk=note.pk), "body") == {"body": OLD_NOTE}
    # The fingerprint the server could recompute alone is gone; a caseworker makes a new one.
    assert stored.contact_fingerprint == ""
    assert "Sealed 3 values in 2 of" in out and "1 old fingerprints erased" in out
    assert "intake.HelpRequest:" in err and "cases.CaseNote:" in err
    entry = AuditEntry.objects.get(action="content_key.sealed_existing")
    assert entry.detail["values"] == 3 and entry.detail["fingerprints_erased"] == 1
    # Without a caseworker's keys, the server's key alone no longer reads it.
    assert OLD_NARRATIVE not in str(stored.narrative)
    with pytest.raises(content.CannotOpen):
        ContentKeys({}).open_one(stored, "narrative")
    # Run again, there is nothing left to seal.
    out, _err = run(monkeypatch, "seal_content")
    assert "Sealed 0 values in 0 of" in out


def test_a_dry_run_of_seal_content_only_counts(monkeypatch, unsealed):
    help_request, _note = unsealed
    audited = AuditEntry.objects.count()

    out, _err = run(monkeypatch, "seal_content", "--dry-run")

    assert "Would seal 3 values in 2 of" in out
    stored = HelpRequest.objects.get(pk=help_request.pk)
    assert isinstance(stored.narrative, Unsealed) and stored.contact_fingerprint == "ab" * 32
    assert AuditEntry.objects.count() == audited


def test_seal_content_in_small_batches_seals_the_same(monkeypatch, unsealed):
    help_request, _note = unsealed
    for _ in range(3):
        submit_request(request_record())

    out, err = run(monkeypatch, "seal_content", "--batch-size", "1")

    assert "Sealed 3 values in 2 of" in out
    assert err.count("intake.HelpRequest:") == 4
    assert opened(HelpRequest.objects.get(pk=help_request.pk), "narrative") == {
        "narrative": OLD_NARRATIVE
    }


def test_seal_content_refuses_what_it_cannot_do_and_changes_nothing(monkeypatch, unsealed):
    help_request, _note = unsealed
    assert refused(monkeypatch, "seal_content", "--batch-size", "0") == (
        "--batch-size must be 1 or more, not 0"
    )
    # Before the first caseworker exists there is nobody to seal to.
    OrganisationKey.objects.update(state="retired")
    audited = AuditEntry.objects.count()
    assert refused(monkeypatch, "seal_content")
    stored = HelpRequest.objects.get(pk=help_request.pk)
    assert isinstance(stored.narrative, Unsealed) and stored.contact_fingerprint == "ab" * 32
    assert AuditEntry.objects.count() == audited


# --- recover_access, shred_content_keys: bad input ----------------------------------------


def test_recover_access_names_what_is_wrong(monkeypatch, alice):
    make_staff("fresh", "caseworker", with_access=False)  # never signed in: no key pair
    nina = make_staff("nina", "caseworker", with_access=False)
    key_services.set_caseworker_key(nina.user, PASSWORD)  # signed in once, waiting
    some_key = content.format_recovery_key(content.new_recovery_secret())
    before = key_state()

    assert refused(monkeypatch, "recover_access", "nobody", typed=(some_key,)) == (
        "No active account named 'nobody'."
    )
    assert refused(monkeypatch, "recover_access", "fresh", typed=(some_key,)) == (
        "fresh has no key yet: they must sign in once with their own password first."
    )
    assert refused(monkeypatch, "recover_access", "nina", typed=("not a key",)) == (
        "a recovery key starts with TROPA-RK1"
    )
    assert refused(monkeypatch, "recover_access", "nina", typed=("TROPA-RK1-AAAA",)) == (
        "this is not a recovery key"
    )
    assert refused(monkeypatch, "recover_access", "nina", typed=(some_key,)) == (
        "This recovery key opens no organisation key here."
    )
    assert key_state() == before


def test_recover_access_is_audited(monkeypatch):
    key_services.shred(actor="test")
    first = make_staff("first", "caseworker", with_access=False)
    recovery = key_services.bootstrap(first.user, PASSWORD, actor="test")
    nina = make_staff("nina", "caseworker", with_access=False)
    key_services.set_caseworker_key(nina.user, PASSWORD)

    out, _err = run(monkeypatch, "recover_access", "nina", typed=(recovery,))

    assert out.strip().startswith("nina has access again (1 organisation key(s)).")
    assert recovery not in out
    entry = AuditEntry.objects.get(action="content_key.recover")
    assert (entry.actor, entry.target, entry.detail["keys"]) == (
        "manage.py recover_access",
        "nina",
        1,
    )
    assert key_services.has_access(nina.user)


def test_shredding_asks_twice_and_a_wrong_first_answer_stops_it(monkeypatch, client, alice):
    sign_in(client, alice)
    before = key_state()

    assert refused(monkeypatch, "shred_content_keys", typed=("yes",)) == (
        "Not confirmed: nothing was destroyed."
    )
    assert key_state() == before and Session.objects.exists()

    out, _err = run(monkeypatch, "shred_content_keys", typed=("shred", "yes, destroy every key"))

    assert "Shredded" in out
    assert not OrganisationKey.objects.exists() and not Session.objects.exists()
    entry = AuditEntry.objects.get(action="content_key.shred")
    assert entry.actor == "manage.py shred_content_keys"
    assert entry.detail["organisation_keys"] == 1 and entry.detail["sessions"] >= 1
    # The caseworker who was signed in is signed out.
    assert client.get("/staff/").status_code == 302
