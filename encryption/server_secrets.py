"""
Random server-side keys, made once and kept encrypted in the database.

`server_secret(name)` answers the same 32 random bytes for a name on every
process and every machine of the installation: the first call creates them
(race-safely: processes that start together agree on one value), and they
survive a rotation of ENCRYPTION_KEY because only their encryption at rest
changes. Use them for keyed hashes of values that cannot be recomputed when
ENCRYPTION_KEY changes, such as receipt codes, which are never stored.

A database dump without ENCRYPTION_KEY does not hold them in clear, so it cannot
be used to test a guess against anything keyed with them.
"""

import base64
import hmac
import secrets

from django.db import IntegrityError, transaction

from encryption.models import ServerSecret

SECRET_BYTES = 32


def server_secret(name: str) -> bytes:
    """The installation's secret called `name`, created on first use."""
    stored = ServerSecret.objects.filter(name=name).first()
    if stored is None:
        value = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
        try:
            with transaction.atomic():
                ServerSecret.objects.create(name=name, value=value)
        except IntegrityError:
            pass  # another process created it first: everyone uses theirs
        stored = ServerSecret.objects.get(name=name)
    return base64.urlsafe_b64decode(stored.value)


def server_hmac(name: str, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under the secret `name`; the key never leaves here."""
    return hmac.digest(server_secret(name), message, "sha256")


def forget_server_secret(name: str) -> bool:
    """
    Destroy the secret `name` (a shred): whatever was keyed with it can never
    be matched again, and the next use makes a new one. True if it existed.
    """
    deleted, _ = ServerSecret.objects.filter(name=name).delete()
    return bool(deleted)
