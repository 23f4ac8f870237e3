"""
The rules of attachments: how many and how large (settings ATTACHMENT_MAX_FILES,
ATTACHMENT_MAX_BYTES, ATTACHMENT_MAX_TOTAL), cleaning each file
(intake.attachments.clean), and storing and forgetting the sealed copies.

Cleaning is slow and happens before any transaction (`clean_uploads`). Sealing
and storing happen with the request or message they belong to
(intake.services.submit_request, post_requester_message): the storage objects
are written first, then the rows in the same transaction as the request; if
anything fails the objects are deleted again (`stored_objects`), so nothing is
ever half-stored. Objects are ciphertext under random names, so an object that
outlives its row (a crash between the two) opens for nobody.
"""

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from encryption.objects import bucket
from encryption.sealing import seal_object
from intake.models import Attachment

if TYPE_CHECKING:
    from intake.attachments.clean import Cleaned

logger = logging.getLogger(__name__)

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
IMAGE_PURPOSE = "intake.attachment.image"
THUMBNAIL_PURPOSE = "intake.attachment.thumbnail"


class AttachmentsRefused(Exception):
    """
    Files that cannot be taken: `messages` says what is wrong, one translated
    sentence per problem, naming a file by its position ("file 2"), never by
    its name (which the requester's device chose and may say who they are).
    """

    def __init__(self, messages: list[str]) -> None:
        super().__init__(f"{len(messages)} problem(s) with attachments")
        self.messages = messages


def limits_text() -> str:
    """The limits in words, for help texts and error messages."""
    return _("Up to %(files)s files, each up to %(each)s, %(total)s in all.") % {
        "files": settings.ATTACHMENT_MAX_FILES,
        "each": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        "total": filesizeformat(settings.ATTACHMENT_MAX_TOTAL),
    }


def check_limits(sizes: Sequence[int]) -> list[str]:
    """What is wrong with files of these sizes, before any of them is read further."""
    problems = []
    if len(sizes) > settings.ATTACHMENT_MAX_FILES:
        problems.append(
            _("You attached %(count)s files; at most %(most)s can be sent.")
            % {"count": len(sizes), "most": settings.ATTACHMENT_MAX_FILES}
        )
    for position, size in enumerate(sizes, 1):
        if size == 0:
            problems.append(_("File %(n)s is empty.") % {"n": position})
        elif size > settings.ATTACHMENT_MAX_BYTES:
            problems.append(
                _("File %(n)s is larger than %(most)s.")
                % {"n": position, "most": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
            )
    if sum(sizes) > settings.ATTACHMENT_MAX_TOTAL:
        problems.append(
            _("The files together are larger than %(most)s.")
            % {"most": filesizeformat(settings.ATTACHMENT_MAX_TOTAL)}
        )
    return problems


def clean_uploads(files: Sequence[bytes]) -> "list[Cleaned]":
    """
    A clean copy of each file (images re-encoded without metadata, PDFs as page
    images), or AttachmentsRefused naming every problem: over a limit (checked
    first, so nothing over it is ever decoded) or a file `clean` refuses.
    """
    from intake.attachments.clean import Refused, clean

    problems = check_limits([len(data) for data in files])
    if problems:
        raise AttachmentsRefused(problems)
    cleaned = []
    for position, data in enumerate(files, 1):
        try:
            cleaned.append(clean(data))
        except Refused as refused:
            problems.append(
                _("File %(n)s: %(problem)s") % {"n": position, "problem": refused.message}
            )
    if problems:
        raise AttachmentsRefused(problems)
    return cleaned


def clean_uploaded_files(files: Sequence) -> "list[Cleaned]":
    """
    clean_uploads for files from a multipart form (Django UploadedFile): the
    limits are checked on each file's whole size, since the upload handler
    (intake.attachments.uploads) keeps no more of a file than the limits need.
    """
    problems = check_limits([f.size for f in files])
    if problems:
        raise AttachmentsRefused(problems)
    return clean_uploads([f.read() for f in files])


def refused_messages(refused: AttachmentsRefused) -> list[str]:
    """What a form says under its file field: each problem, then that the files must be
    chosen again (a browser never gives files back into a form)."""
    return [
        *refused.messages,
        _(
            "Nothing was sent. Everything you wrote is still here, but a browser cannot "
            "keep files in a form: attach the files again."
        ),
    ]


# --- storing --------------------------------------------------------------------


def attachment_storage():
    return storages["attachments"]


def new_object_name() -> str:
    """A storage object's name: random, so it says nothing, with no folder per request."""
    return secrets.token_hex(16)


@dataclass
class SealedAttachments:
    """Attachment rows not yet saved, and their sealed objects (name → ciphertext)."""

    rows: list[Attachment]
    objects: dict[str, bytes]


def seal_attachments(cleaned: "Sequence[Cleaned]", key: bytes, reference: str) -> SealedAttachments:
    """
    Every page of every cleaned file sealed under `key` (the request's or the
    message's), each object bound to the request's reference and the
    attachment's uid. Raises SealingFailed, having stored nothing.
    """
    sealed = SealedAttachments([], {})
    if not cleaned:
        return sealed
    from intake.attachments.clean import sniff

    for position, one in enumerate(cleaned, 1):
        for page_number, page in enumerate(one.pages, 1):
            row = Attachment(
                position=position,
                page=page_number,
                kind=Attachment.Kind.DOCUMENT if one.kind == "pdf" else Attachment.Kind.IMAGE,
                media_type=page.media_type,
                thumbnail_type=MEDIA_TYPES.get(sniff(page.thumbnail) or "", page.media_type),
                size_bucket=bucket(len(page.data)),
                image_object=new_object_name(),
                thumbnail_object=new_object_name(),
            )
            bound = f"{reference}/{row.uid}"
            sealed.objects[row.image_object] = seal_object(key, page.data, IMAGE_PURPOSE, bound)
            sealed.objects[row.thumbnail_object] = seal_object(
                key, page.thumbnail, THUMBNAIL_PURPOSE, bound
            )
            sealed.rows.append(row)
    return sealed


@contextmanager
def stored_objects(sealed: SealedAttachments) -> Iterator[None]:
    """
    Write the sealed objects, then run the block (which stores the rows in a
    transaction); if writing or the block fails, delete every object written.
    """
    storage, written = attachment_storage(), []
    try:
        for name, blob in sealed.objects.items():
            saved = storage.save(name, ContentFile(blob, name=name))
            written.append(saved)
            if saved != name:  # a name taken already (never, with 128 random bits)
                raise RuntimeError("an attachment object name was taken")
        yield
    except BaseException:
        delete_objects(written)
        raise


def read_object(attachment: Attachment, part: str) -> bytes:
    """The sealed object of an attachment's image or thumbnail, as stored (ciphertext)."""
    name = attachment.thumbnail_object if part == "thumbnail" else attachment.image_object
    with attachment_storage().open(name, "rb") as stored:
        return stored.read()


def save_rows(sealed: SealedAttachments, **owner) -> None:
    """Store the rows (inside the caller's transaction) for their request or message."""
    for row in sealed.rows:
        for name, value in owner.items():
            setattr(row, name, value)
    Attachment.objects.bulk_create(sealed.rows)


def delete_objects(names: Sequence[str]) -> int:
    """Delete these storage objects; one that is gone already, or fails, does not stop the rest."""
    storage, deleted = attachment_storage(), 0
    for name in names:
        try:
            storage.delete(name)
            deleted += 1
        except Exception:  # logged by kind only: a name is not content, but the rest goes on
            logger.warning("an attachment object could not be deleted (%s)", "storage error")
    return deleted


def forget_attachments(attachments: QuerySet) -> int:
    """
    Delete these attachments: the rows now, their storage objects once the
    transaction commits (a rollback keeps both). Their key goes with the
    request's or the message's, so a copy of an object kept elsewhere (a
    backup) opens for nobody. Returns how many were deleted.
    """
    names = [
        name
        for pair in attachments.values_list("image_object", "thumbnail_object")
        for name in pair
    ]
    deleted, _by_model = attachments.delete()
    if names:
        transaction.on_commit(lambda: delete_objects(names))
    return deleted
