"""
Attachments over their life: the chunked object format, nothing half-stored
when sealing, storing or the transaction fails, and retention purge and shred
deleting the objects and the rows, after which no copy opens.
"""

import io
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from encryption import objects
from encryption.content import CannotOpen, new_key
from encryption.sealing import SealingFailed
from intake import services as intake_services
from intake.attachments.services import IMAGE_PURPOSE, read_object
from intake.models import Attachment, HelpRequest
from intake.services import RequestRecord, post_requester_message, submit_request
from tests.attachment_helpers import ready_cleaned
from tests.content_keys import organisation_keys
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment_storage(settings, tmp_path):
    storages = {alias: dict(config) for alias, config in settings.STORAGES.items()}
    storages["attachments"] = {
        **storages["attachments"],
        "OPTIONS": {**storages["attachments"]["OPTIONS"], "location": str(tmp_path)},
    }
    settings.STORAGES = storages
    return tmp_path


def files_in(folder) -> list:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def a_record(**values) -> RequestRecord:
    return RequestRecord(
        received_at=timezone.now(),
        channel="web",
        category="desertion",
        service_status="mobilised",
        location="front_line",
        urgency="high",
        narrative="A summons came today.",
        **values,
    )


def opens(attachment: Attachment, sealed: bytes) -> bytes:
    """What a caseworker with access reads from this object (CannotOpen otherwise)."""
    owner = attachment.message or attachment.request
    field = "body" if attachment.message else "narrative"
    return organisation_keys().open_object(
        owner, field, sealed, IMAGE_PURPOSE, attachment.sealed_row
    )


# --- the format -------------------------------------------------------------------


def test_an_object_opens_with_its_key_purpose_and_row_only():
    key, data = new_key(), bytes(range(256)) * 700  # three chunks
    sealed = objects.seal_object(key, data, "intake.attachment.image", "GL-1/ab")

    assert objects.open_object(key, sealed, "intake.attachment.image", "GL-1/ab") == data
    for other in (
        (new_key(), "intake.attachment.image", "GL-1/ab"),
        (key, "intake.attachment.thumbnail", "GL-1/ab"),
        (key, "intake.attachment.image", "GL-2/ab"),
    ):
        with pytest.raises(CannotOpen):
            objects.open_object(other[0], sealed, other[1], other[2])


def test_chunks_cannot_be_reordered_dropped_cut_or_changed():
    key, data = new_key(), bytes(range(256)) * 700
    sealed = objects.seal_object(key, data, "p", "row")
    head, size = sealed[:1], objects.SEALED_CHUNK
    chunks = [sealed[1 + i * size : 1 + (i + 1) * size] for i in range((len(sealed) - 1) // size)]
    assert len(chunks) == 3
    tampered = [
        head + chunks[1] + chunks[0] + chunks[2],  # reordered
        head + chunks[0] + chunks[1],  # the last chunk cut off
        head + chunks[0] + chunks[2],  # one dropped
        head + chunks[0] + chunks[1] + chunks[2] + chunks[2],  # one repeated
        sealed[:-1] + bytes([sealed[-1] ^ 1]),  # a bit changed
        sealed[:100],  # cut mid-chunk
    ]
    for blob in tampered:
        with pytest.raises(CannotOpen):
            objects.open_object(key, blob, "p", "row")


def test_sizes_are_padded_to_buckets_of_whole_chunks():
    assert objects.bucket(1) == 64 * 1024
    assert objects.bucket(64 * 1024 + 1) == 128 * 1024
    steps = [objects.bucket(n) for n in (300_000, 1_000_000, 10_000_000)]
    assert all(step % objects.CHUNK == 0 for step in steps)
    assert [objects.bucket(s) for s in steps] == steps
    # Never more than a quarter larger (plus rounding to one chunk).
    assert all(
        objects.bucket(n) <= n * 1.25 + objects.CHUNK for n in range(70_000, 9_000_000, 99_991)
    )
    small, other = (objects.seal_object(new_key(), bytes(n), "p", "r") for n in (10, 60_000))
    assert len(small) == len(other)


# --- nothing half-stored -----------------------------------------------------------------


def test_a_fault_while_sealing_stores_nothing(monkeypatch, attachment_storage):
    def broken(*args, **kwargs):
        raise ValueError("a fault in the cipher")

    monkeypatch.setattr(objects, "seal_object", broken)

    with pytest.raises(SealingFailed):
        submit_request(a_record(), attachments=[ready_cleaned()])

    assert not HelpRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(attachment_storage) == []


def test_a_failed_transaction_deletes_the_objects_it_wrote(monkeypatch, attachment_storage):
    def broken(help_request):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(intake_services, "_open_case", broken)

    with pytest.raises(RuntimeError):
        submit_request(a_record(), attachments=[ready_cleaned(), ready_cleaned()])

    assert not HelpRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(attachment_storage) == []


def test_a_storage_fault_midway_deletes_what_was_written(monkeypatch, attachment_storage):
    from django.core.files.storage import FileSystemStorage

    real, written = FileSystemStorage._save, []

    def failing_third(self, name, content):
        if len(written) == 2:
            raise OSError("disk full")
        written.append(name)
        return real(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_third)

    with pytest.raises(OSError):
        submit_request(a_record(), attachments=[ready_cleaned(), ready_cleaned()])

    assert len(written) == 2
    assert files_in(attachment_storage) == []
    assert not HelpRequest.objects.exists()


def test_a_message_with_a_fault_stores_neither_message_nor_files(monkeypatch, attachment_storage):
    case = CaseFactory()
    monkeypatch.setattr(
        objects, "seal_object", lambda *a, **k: (_ for _ in ()).throw(ValueError("fault"))
    )

    with pytest.raises(SealingFailed):
        post_requester_message(case.request, "here it is", [ready_cleaned()])

    assert not case.request.messages.exists()
    assert files_in(attachment_storage) == []


# --- purge and shred --------------------------------------------------------------------


def test_the_retention_purge_deletes_objects_and_rows_and_no_copy_opens(
    settings, attachment_storage, django_capture_on_commit_callbacks
):
    from cases.models import Case

    settings.RETENTION_DAYS = 30
    then = timezone.now() - timedelta(days=40)
    old = submit_request(a_record(), attachments=[ready_cleaned()]).help_request
    post_requester_message(old, "", [ready_cleaned()])
    Case.objects.filter(request=old).update(
        state="closed", closed_at=then, last_activity_at=then, outcome="left_country"
    )
    kept = submit_request(a_record(), attachments=[ready_cleaned()]).help_request
    gone = Attachment.objects.select_related("request").get(request=old, message=None)
    copy = read_object(gone, "image")
    assert opens(gone, copy)  # a caseworker reads it before the purge

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=io.StringIO())

    left = Attachment.objects.get()
    assert left.request == kept
    assert files_in(attachment_storage) == sorted([left.image_object, left.thumbnail_object])
    gone.request = HelpRequest.objects.get(pk=old.pk)
    with pytest.raises(CannotOpen):
        opens(gone, copy)  # a copy of the object: its key was erased with the request's


def test_after_a_shred_no_object_is_left_and_no_copy_opens(
    monkeypatch, attachment_storage, django_capture_on_commit_callbacks
):
    submitted = submit_request(a_record(), attachments=[ready_cleaned()])
    attachment = Attachment.objects.select_related("request").get()
    copy = read_object(attachment, "image")
    assert opens(attachment, copy)

    monkeypatch.setattr(sys, "stdin", io.StringIO("shred\nyes, destroy every key\n"))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("shred_content_keys", stdout=out, stderr=io.StringIO())

    assert "1 attachment(s)" in out.getvalue()
    assert not Attachment.objects.exists()
    assert files_in(attachment_storage) == []
    help_request = HelpRequest.objects.get(pk=submitted.help_request.pk)
    attachment.request = help_request
    with pytest.raises(CannotOpen):
        opens(attachment, copy)  # restored from a copy: no envelope opens its key


def test_after_a_key_rotation_attachments_still_open(attachment_storage):
    from encryption import services as key_services

    submit_request(a_record(), attachments=[ready_cleaned()])
    attachment = Attachment.objects.select_related("request").get()
    keys = organisation_keys()
    key_services.reseal_envelopes(keys, limit=100)

    assert opens(attachment, read_object(attachment, "image")).startswith(b"\xff\xd8\xff")
