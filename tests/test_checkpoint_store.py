"""
The checkpoint store on an S3-compatible bucket with object lock
(audit/checkpoint_store.py), with a bucket made here: every object put is kept
with the parameters it was put with, as S3 would keep them, and nothing put is
ever removed or replaced. django-storages is an optional extra, not installed
for the tests; its S3 backend's one hook that matters here,
`get_object_parameters`, is what the bucket below offers too.
"""

import importlib.util
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage

from audit import checkpoints, tasks
from audit.checkpoint_store import ObjectLocked, storage_settings
from audit.models import SignedCheckpoint
from tests.staffing import sign_in
from tests.test_audit_checkpoints import signing, verify  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signing")]


class Bucket(Storage):
    """An object-lock bucket: objects and the lock parameters they were put with."""

    objects: dict[str, tuple[bytes, dict]] = {}
    reachable = True

    def __init__(self, **options):
        self.object_parameters = dict(options)

    def get_object_parameters(self, name: str) -> dict:  # django-storages' S3Storage hook
        return dict(self.object_parameters)

    def _save(self, name, content):
        if not self.reachable:
            raise ConnectionError("could not connect to the endpoint URL")
        assert name not in self.objects, "a locked object is never replaced"
        self.objects[name] = (content.read(), self.get_object_parameters(name))
        return name

    def exists(self, name):
        return name in self.objects

    def _open(self, name, mode="rb"):
        return io.BytesIO(self.objects[name][0])

    def listdir(self, path):
        prefix = f"{path}/" if path else ""
        below = [n[len(prefix) :] for n in self.objects if n.startswith(prefix)]
        folders = sorted({n.split("/")[0] for n in below if "/" in n})
        return folders, sorted(n for n in below if "/" not in n)


class LockedBucket(ObjectLocked, Bucket):
    pass


@pytest.fixture
def bucket(settings):
    Bucket.objects, Bucket.reachable = {}, True
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_checkpoints": {
            "BACKEND": f"{__name__}.LockedBucket",
            "OPTIONS": {
                "lock_mode": "COMPLIANCE",
                "retain_days": 400,
                "ServerSideEncryption": "AES256",
            },
        },
    }
    return Bucket


def test_every_checkpoint_is_put_under_object_lock_and_verified_from_the_bucket(bucket):
    before = datetime.now(UTC)
    made = checkpoints.make_checkpoint()

    assert made.stored and list(bucket.objects) == [made.stored_as]
    body, parameters = bucket.objects[made.stored_as]
    assert body.decode() == made.text
    assert parameters["ObjectLockMode"] == "COMPLIANCE"
    assert parameters["ServerSideEncryption"] == "AES256"  # the bucket's own parameters kept
    retained = parameters["ObjectLockRetainUntilDate"] - before
    assert timedelta(days=400) <= retained < timedelta(days=400, minutes=5)
    assert "passes through all 1 signed checkpoints" in verify("--checkpoints")


def test_a_checkpoint_the_bucket_missed_is_shown_behind_a_later_one_and_retried(
    bucket, client, alice, dave, settings
):
    bucket.reachable = False
    assert tasks.make_audit_checkpoint() == 1
    bucket.reachable = True
    checkpoints.make_checkpoint()  # one on demand arrives: it must not hide the first
    first, second = SignedCheckpoint.objects.order_by("number")
    assert not first.stored and "ConnectionError" in first.store_error and second.stored

    settings.LANGUAGE_CODE = "en"
    sign_in(client, dave)
    page = client.get("/staff/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 earlier checkpoint is not stored yet" in page

    assert checkpoints.deliver_pending() == 0
    first.refresh_from_db()
    assert first.stored and len(bucket.objects) == 2
    page = client.get("/staff/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "earlier checkpoint" not in page


def test_a_lock_without_a_mode_or_a_retention_is_refused():
    with pytest.raises(ImproperlyConfigured, match="object lock needs"):
        LockedBucket(lock_mode="NONE", retain_days=400)
    with pytest.raises(ImproperlyConfigured, match="object lock needs"):
        LockedBucket(lock_mode="COMPLIANCE", retain_days=0)


def test_the_store_setting_is_a_folder_or_a_bucket_and_says_what_is_missing():
    assert storage_settings("", "/srv/checkpoints")["OPTIONS"]["location"] == "/srv/checkpoints"
    for wrong in ("ftp://bucket", "s3://", "s3://b/p?colour=red"):
        with pytest.raises(ImproperlyConfigured, match=r"must be empty|unknown parameters: colour"):
            storage_settings(wrong, "")
    for wrong in ("s3://b?mode=LAX", "s3://b?retain_days=0", "s3://b?retain_days=-5"):
        with pytest.raises(ImproperlyConfigured, match="retain_days a whole number of days"):
            storage_settings(wrong, "")
    url = "s3://tropa-audit/checkpoints?endpoint=https://s3.example.org&retain_days=30"
    if importlib.util.find_spec("storages") is None:  # the s3 extra is not installed
        with pytest.raises(ImproperlyConfigured, match=r"install the s3 extra"):
            storage_settings(url, "")
        return
    configured = storage_settings(url, "")
    assert configured["BACKEND"] == "audit.checkpoint_store.LockedS3Storage"
    assert configured["OPTIONS"] == {
        "bucket_name": "tropa-audit",
        "location": "checkpoints",
        "file_overwrite": False,
        "default_acl": None,
        "lock_mode": "COMPLIANCE",
        "retain_days": 30,
        "endpoint_url": "https://s3.example.org",
    }
