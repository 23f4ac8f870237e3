"""
Key material derived from ENCRYPTION_KEY and ENCRYPTION_OLD_KEYS.

Each configured secret yields independent keys through HKDF-SHA256: one for
AES, one for the HMAC that authenticates each ciphertext, and one per
server-side purpose (rate-limit counters, backup-code digests, ...). Deriving
separate keys means no derived value reveals anything about the cipher keys,
and the same secret can safely serve them all. Contact fingerprints are not
among them: they are keyed from the organisation key (encryption.fingerprint).
"""

from dataclasses import dataclass
from datetime import date
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_SALT = b"tropa/encryption/v1"


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    """Keys derived from one secret. repr is disabled so keys never reach a log."""

    cipher: bytes
    mac: bytes


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(
        secret.encode("utf-8")
    )


def derive_key_material(secret: str) -> KeyMaterial:
    return KeyMaterial(
        cipher=_derive(secret, b"field-cipher"),
        mac=_derive(secret, b"field-mac"),
    )


@cache
def key_materials() -> tuple[KeyMaterial, ...]:
    """The current key first, then every old key still accepted for reading."""
    secrets = [settings.ENCRYPTION_KEY]
    secrets += [old for old in settings.ENCRYPTION_OLD_KEYS if old not in secrets]
    return tuple(derive_key_material(secret) for secret in secrets)


@receiver(setting_changed)
def _forget_keys(setting: str, **kwargs) -> None:
    if setting in {"ENCRYPTION_KEY", "ENCRYPTION_OLD_KEYS"}:
        key_materials.cache_clear()
        purpose_key.cache_clear()
        purpose_keys.cache_clear()


@cache
def purpose_key(purpose: str, day: date | None = None) -> bytes:
    """
    A 32-byte key for one server-side purpose (rate-limit counters, the bot's
    dialogue state, ...), derived from the current ENCRYPTION_KEY, so it is never
    stored anywhere: not in the cache, the broker or the database. With `day`,
    the key changes every day, and yesterday's derived values cannot be linked
    to today's.
    """
    info = f"purpose:{purpose}" + (f":{day.isoformat()}" if day else "")
    return _derive(settings.ENCRYPTION_KEY, info.encode("utf-8"))


@cache
def purpose_keys(purpose: str) -> tuple[bytes, ...]:
    """
    `purpose_key(purpose)` under ENCRYPTION_KEY first, then under each of
    ENCRYPTION_OLD_KEYS: values derived before a key rotation are still
    recognised while the old key is configured.
    """
    secrets = [settings.ENCRYPTION_KEY]
    secrets += [old for old in settings.ENCRYPTION_OLD_KEYS if old not in secrets]
    info = f"purpose:{purpose}".encode()
    return tuple(_derive(secret, info) for secret in secrets)
