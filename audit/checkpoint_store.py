"""
Where checkpoints are written: a local folder, or an S3-compatible bucket with object lock.

`AUDIT_CHECKPOINT_STORE` (read by config/settings.py through `storage_settings`)
is empty for the folder `AUDIT_CHECKPOINT_DIR`, or a URL naming a bucket:

    s3://BUCKET/PREFIX?endpoint=https://s3.example.org&region=eu-central-1&retain_days=400

Each checkpoint is then put with object lock, `ObjectLockMode` COMPLIANCE (or
`mode=GOVERNANCE`) and `ObjectLockRetainUntilDate` `retain_days` after the
write, so nobody, the bucket's owner included, can delete or overwrite it
before then. The bucket must have object lock enabled (it can only be set when
the bucket is created). Credentials come from the usual AWS variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never from the URL.

The bucket needs django-storages with boto3, an optional extra not installed
by default (`pip install '.[s3]'`); it is imported only when configured, and a
missing package is said at start.

This module imports nothing of Django's models: settings import it.
"""

import functools
import importlib.util
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from django.core.exceptions import ImproperlyConfigured

MODES = ("COMPLIANCE", "GOVERNANCE")
DEFAULT_RETAIN_DAYS = 400
BACKEND = "audit.checkpoint_store.LockedS3Storage"


def storage_settings(url: str, folder: str) -> dict:
    """The `STORAGES["audit_checkpoints"]` entry for AUDIT_CHECKPOINT_STORE."""
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder, "file_permissions_mode": 0o440},
        }
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImproperlyConfigured(
            f"AUDIT_CHECKPOINT_STORE must be empty (a folder) or s3://BUCKET/PREFIX?…, not {url!r}."
        )
    query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
    unknown = set(query) - {"endpoint", "region", "retain_days", "mode"}
    if unknown:
        raise ImproperlyConfigured(
            f"AUDIT_CHECKPOINT_STORE has unknown parameters: {', '.join(sorted(unknown))}."
        )
    mode = query.get("mode", "COMPLIANCE").upper()
    days = query.get("retain_days", str(DEFAULT_RETAIN_DAYS))
    if mode not in MODES or not days.isdigit() or int(days) < 1:
        raise ImproperlyConfigured(
            "AUDIT_CHECKPOINT_STORE: mode is COMPLIANCE or GOVERNANCE, retain_days a whole "
            "number of days (at least 1)."
        )
    missing = [name for name in ("storages", "boto3") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImproperlyConfigured(
            f"AUDIT_CHECKPOINT_STORE names a bucket, but {' and '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} not installed: install the s3 extra "
            "(pip install '.[s3]', i.e. django-storages[s3]), or leave AUDIT_CHECKPOINT_STORE "
            "empty for a folder."
        )
    options = {
        "bucket_name": parsed.netloc,
        "location": parsed.path.strip("/"),
        # A taken name is never overwritten: the storage picks another.
        "file_overwrite": False,
        "default_acl": None,
        "lock_mode": mode,
        "retain_days": int(days),
    }
    if query.get("endpoint"):
        options["endpoint_url"] = query["endpoint"]
    if query.get("region"):
        options["region_name"] = query["region"]
    return {"BACKEND": BACKEND, "OPTIONS": options}


class ObjectLocked:
    """
    For a django-storages S3 backend: every object is put under object lock,
    retained `retain_days` from the moment of the write.
    """

    def __init__(self, *args, lock_mode: str = "COMPLIANCE", retain_days: int = 0, **kwargs):
        if lock_mode not in MODES or retain_days < 1:
            raise ImproperlyConfigured("object lock needs a mode and a retention of a day or more")
        self.lock_mode = lock_mode
        self.retain_days = retain_days
        super().__init__(*args, **kwargs)

    def get_object_parameters(self, name: str) -> dict:
        parameters = super().get_object_parameters(name)
        retain_until = datetime.now(UTC) + timedelta(days=self.retain_days)
        parameters["ObjectLockMode"] = self.lock_mode
        parameters["ObjectLockRetainUntilDate"] = retain_until
        return parameters


@functools.cache
def _locked_s3_storage() -> type:
    from storages.backends.s3 import S3Storage

    return type("LockedS3Storage", (ObjectLocked, S3Storage), {"__module__": __name__})


def __getattr__(name: str):
    # The S3 backend exists only where it is configured (and installed).
    if name == "LockedS3Storage":
        return _locked_s3_storage()
    raise AttributeError(name)
