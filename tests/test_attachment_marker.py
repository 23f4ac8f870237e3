"""
A marker hidden in an uploaded file's metadata (EXIF user comment, camera
serial, maker note, JPEG comment, PNG text chunks) never appears in clear
anywhere the server keeps things: the database (every table, raw), the
attachment storage folder, /tmp, Redis (when the run has one), the logs and
Celery task payloads. The clean copy a caseworker reads has none of it either
(tests/test_attachments.py); here the point is that the upload itself never
lands anywhere, and that what is stored is ciphertext.
"""

import os
import secrets
import tempfile
import time
from pathlib import Path

import pytest
from celery import signals
from django.conf import settings
from django.db import connection

from intake.models import Attachment, HelpRequest
from tests.attachment_helpers import jpeg_with_metadata, png_with_text
from tests.conftest import remember_sensitive
from tests.intake_helpers import form_data, receipt_of

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


def upload(name: str, data: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def database_bytes() -> bytes:
    """Every value of every table, as stored."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        dump.append(bytes(value))
                    else:
                        dump.append(str(value).encode("utf-8", "surrogatepass"))
    return b"\n".join(dump)


def files_bytes(folder: Path, since: float = 0.0) -> list[tuple[Path, bytes]]:
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime >= since and path.stat().st_size < 64 << 20:
                found.append((path, path.read_bytes()))
        except OSError:  # another process's file, gone or not ours to read
            continue
    return found


def redis_bytes() -> bytes:
    if not settings.REDIS_URL:
        return b""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    dump = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            dump.append(client.get(key) or b"")
        elif kind == b"list":
            dump.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            dump.extend(client.hgetall(key).values())
        dump.append(key)
    return b"\n".join(dump)


@pytest.fixture
def task_payloads():
    """The arguments of every task published or run (eager runs publish nothing)."""
    seen = []

    def published(body=None, **kwargs):
        seen.append(repr(body))

    def started(args=None, kwargs=None, **extra):
        seen.append(repr((args, kwargs)))

    signals.before_task_publish.connect(published, weak=False)
    signals.task_prerun.connect(started, weak=False)
    yield seen
    signals.before_task_publish.disconnect(published)
    signals.task_prerun.disconnect(started)


def test_a_marker_in_a_files_metadata_is_nowhere_in_clear(
    client, alice, caplog, attachment_storage, task_payloads, django_capture_on_commit_callbacks
):
    marker = "MK" + secrets.token_hex(8)
    remember_sensitive(marker)  # and the log scan of the whole run looks for it too
    started = time.time() - 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/",
            {
                **form_data(),
                "attachments": [
                    upload(f"IMG_{marker}.jpg", jpeg_with_metadata(marker), "image/jpeg"),
                    upload(f"{marker}.png", png_with_text(marker), "image/png"),
                ],
            },
        )
    code = receipt_of(response)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/status/message/",
            {"code": code, "body": "", "attachments": [
                upload(f"{marker}.jpg", jpeg_with_metadata(marker), "image/jpeg"),
            ]},
        )  # fmt: skip
    assert Attachment.objects.count() == 3
    assert HelpRequest.objects.count() == 1
    needle = marker.encode()

    assert needle not in database_bytes()
    stored = files_bytes(attachment_storage)
    assert len(stored) == 6
    assert not [path for path, data in stored if needle in data]
    assert not [
        path for path, data in files_bytes(Path(tempfile.gettempdir()), started) if needle in data
    ]
    assert needle not in redis_bytes()
    assert marker not in caplog.text
    log_file = os.environ.get("LOG_FILE")
    if log_file and Path(log_file).exists():
        assert needle not in Path(log_file).read_bytes()
    assert task_payloads  # the new case's notification ran
    assert not [payload for payload in task_payloads if marker in payload]
