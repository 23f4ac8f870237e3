"""
Attachments (issue 24): what a requester attaches is stored as a clean copy,
sealed and padded, under random names; caseworkers with the key see it through
the one door; a refusal keeps what was typed and stores nothing.
"""

import io
import re

import pytest
from django.db import connection
from PIL import Image

from audit.models import AuditEntry
from intake.models import Attachment, HelpRequest
from tests.attachment_helpers import (
    EXIF_IFD,
    GPS_IFD,
    difference,
    jpeg_with_metadata,
    picture,
    plain_jpeg,
    png_with_text,
)
from tests.intake_helpers import form_data, receipt_of
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db

REFERENCE_PAGE = re.compile(r"/staff/cases/([^/]+)/attachments/([0-9a-f]{32})/thumbnail/")


@pytest.fixture
def attachment_storage(settings, tmp_path):
    """This test's own folder of attachment objects, to count what is stored."""
    storages = {alias: dict(config) for alias, config in settings.STORAGES.items()}
    storages["attachments"] = {
        **storages["attachments"],
        "OPTIONS": {**storages["attachments"]["OPTIONS"], "location": str(tmp_path)},
    }
    settings.STORAGES = storages
    return tmp_path


def upload(name: str, data: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def send(client, *files, **overrides):
    return client.post("/", {**form_data(**overrides), "attachments": list(files)})


def stored_objects(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def attachment_urls(client, reference: str) -> list[str]:
    page = client.get(f"/staff/cases/{reference}/").content.decode()
    return [f"/staff/cases/{ref}/attachments/{uid}/" for ref, uid in REFERENCE_PAGE.findall(page)]


# --- stored clean ------------------------------------------------------------------


def test_a_phone_photo_is_stored_without_its_metadata(client, alice, attachment_storage):
    original = jpeg_with_metadata("ZX81")
    response = send(client, upload("IMG_20260304_Moscow.jpg", original))
    assert response.status_code == 200, response.content.decode()[:3000]
    receipt_of(response)
    help_request = HelpRequest.objects.get()

    sign_in(client, alice)
    [url] = attachment_urls(client, help_request.reference)
    served = client.get(url)

    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    clean = Image.open(io.BytesIO(served.content))
    exif = clean.getexif()
    assert not dict(exif)
    assert not exif.get_ifd(GPS_IFD) and not exif.get_ifd(EXIF_IFD)
    assert "exif" not in clean.info and "comment" not in clean.info
    assert b"ZX81" not in served.content
    assert b"IMG_2026" not in served.content
    assert difference(clean, picture()) < 6


def test_a_png_is_stored_without_its_text_chunks(client, alice, attachment_storage):
    response = send(client, upload("scan.png", png_with_text("QW77"), "image/png"))
    assert response.status_code == 200
    help_request = HelpRequest.objects.get()

    sign_in(client, alice)
    [url] = attachment_urls(client, help_request.reference)
    served = client.get(url)

    clean = Image.open(io.BytesIO(served.content))
    assert b"QW77" not in served.content
    assert not getattr(clean, "text", {})
    assert difference(clean, picture()) < 6


def test_the_stored_objects_are_padded_ciphertext_under_random_names(client, attachment_storage):
    original = jpeg_with_metadata("PD42")
    send(client, upload("a.jpg", original), upload("b.jpg", plain_jpeg()))

    attachment = Attachment.objects.order_by("position").first()
    objects = stored_objects(attachment_storage)
    assert Attachment.objects.count() == 2
    assert len(objects) == 4  # an image and a thumbnail each
    for path in objects:
        assert path.parent == attachment_storage  # no folder per request
        assert re.fullmatch(r"[0-9a-f]{32}", path.name)
        blob = path.read_bytes()
        assert blob[0] == 0xC2
        # 64 KiB chunks, each with its nonce and tag: the size says only the bucket.
        assert (len(blob) - 1) % (64 * 1024 + 28) == 0
        assert b"PD42" not in blob and b"JFIF" not in blob and b"Exif" not in blob
    assert attachment.image_object != attachment.thumbnail_object
    assert attachment.size_bucket % (64 * 1024) == 0


def test_a_caseworker_gets_the_image_with_headers_that_allow_nothing_else(
    client, alice, attachment_storage
):
    send(client, upload("a.jpg", plain_jpeg()))
    reference = HelpRequest.objects.get().reference
    sign_in(client, alice)
    [url] = attachment_urls(client, reference)

    for path, disposition in (
        (url, "inline"),
        (url + "thumbnail/", "inline"),
        (url + "download/", "attachment"),
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == (
            "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
        )
        assert "no-store" in response["Cache-Control"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == f'{disposition}; filename="attachment-1-1.jpg"'
        Image.open(io.BytesIO(response.content)).verify()


def test_opening_an_attachment_is_audited(client, alice, attachment_storage):
    send(client, upload("a.jpg", plain_jpeg()))
    reference = HelpRequest.objects.get().reference
    sign_in(client, alice)
    [url] = attachment_urls(client, reference)

    client.get(url)
    client.get(url + "download/")

    viewed = AuditEntry.objects.get(action="attachment.view", detail__part="image")
    downloaded = AuditEntry.objects.get(action="attachment.download")
    assert (viewed.actor, viewed.target, viewed.detail["file"]) == ("alice", reference, "1.1")
    assert downloaded.target == reference


# --- refused ---------------------------------------------------------------------------


def _six_files():
    return [upload(f"{i}.jpg", plain_jpeg()) for i in range(6)]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (lambda: [upload("photo.jpg", b"<!doctype html><script>alert(1)</script>")],
         "File 1: We can take only photos"),
        (lambda: [upload("photo.jpg", plain_jpeg()), upload("empty.jpg", b"")],
         "File 2 is empty."),
        (_six_files, "You attached 6 files; at most 5 can be sent."),
        (lambda: [upload("big.jpg", b"\xff\xd8\xff" + bytes(20_000 - 2))],
         "File 1 is larger than"),
        (lambda: [upload(f"{i}.jpg", b"\xff\xd8\xff" + bytes(15_000)) for i in range(3)],
         "The files together are larger than"),
    ],
    ids=["html-named-jpg", "zero-bytes", "six-files", "one-byte-over", "total-over"],
)  # fmt: skip
def test_a_refused_file_keeps_the_typed_text_and_stores_nothing(
    client, settings, attachment_storage, files, expected
):
    settings.ATTACHMENT_MAX_BYTES = 20_000
    settings.ATTACHMENT_MAX_TOTAL = 40_000
    typed = "Мы не можем уйти отсюда, у меня повестка на завтра."

    response = send(client, *files(), narrative=typed)

    body = response.content.decode()
    assert response.status_code == 400
    assert expected in body
    assert "attach the files again" in body
    assert typed in body
    assert not HelpRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_objects(attachment_storage) == []
    # The next request goes through as usual.
    assert send(client, upload("ok.jpg", plain_jpeg())).status_code == 200
    assert Attachment.objects.count() == 1


def test_a_form_without_files_is_stored_as_before(client, attachment_storage):
    response = client.post("/", form_data())

    assert response.status_code == 200
    assert HelpRequest.objects.count() == 1
    assert not Attachment.objects.exists()
    assert stored_objects(attachment_storage) == []


# --- uploads never touch the disk in clear ------------------------------------------


def test_a_large_upload_writes_no_temporary_file(client, settings, tmp_path, monkeypatch):
    import django.core.files.uploadedfile as uploadedfile

    made = []
    real = uploadedfile.tempfile.NamedTemporaryFile
    monkeypatch.setattr(
        uploadedfile.tempfile,
        "NamedTemporaryFile",
        lambda *a, **kw: made.append(kw) or real(*a, **kw),
    )
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    big = io.BytesIO()
    # About 4 MB, well over Django's 2.5 MB in-memory threshold.
    Image.frombytes("RGB", (1200, 1200), bytes(range(256)) * 16875).save(big, "PNG")
    data = big.getvalue() + bytes(max(0, 4 * 1024 * 1024 - len(big.getvalue())))

    client.post("/", {**form_data(), "attachments": [upload("big.png", data, "image/png")]})

    assert made == []
    assert list(uploads.iterdir()) == []
    assert Attachment.objects.count() == 1


def test_only_the_memory_handler_reads_uploads(settings):
    assert settings.FILE_UPLOAD_HANDLERS == ["intake.attachments.uploads.MemoryOnlyUploadHandler"]


# --- follow-up messages -------------------------------------------------------------


def test_a_requester_sends_a_photo_with_a_message(client, alice, attachment_storage):
    code = receipt_of(client.post("/", form_data()))
    response = client.post(
        "/status/message/",
        {"code": code, "body": "", "attachments": [upload("p.jpg", jpeg_with_metadata("MS1"))]},
    )
    assert response.status_code == 200, response.content.decode()[:3000]
    attachment = Attachment.objects.get()
    assert attachment.message is not None

    sign_in(client, alice)
    [url] = attachment_urls(client, attachment.request.reference)
    served = client.get(url)
    assert served.status_code == 200
    assert b"MS1" not in served.content


def test_a_refused_file_with_a_message_keeps_the_message(client, attachment_storage):
    code = receipt_of(client.post("/", form_data()))
    response = client.post(
        "/status/message/",
        {"code": code, "body": "Вот повестка", "attachments": [upload("x.jpg", b"not a photo")]},
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Вот повестка" in body and "attach the files again" in body
    assert not Attachment.objects.exists()
    assert stored_objects(attachment_storage) == []


def _all_rows_as_bytes() -> bytes:
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    dump.append(
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
    return b"\n".join(dump)
