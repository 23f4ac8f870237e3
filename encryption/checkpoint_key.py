"""
The audit checkpoint signing key: an Ed25519 key that is never in the database.

Whoever can write the database can rewrite the audit chain and recompute every
hash, since hashes need no key. A signature does: the private key lives in its
own file (AUDIT_SIGNING_KEY_FILE, readable by the application only, never in
the database, the repository or `.env`), so a stolen database password cannot
forge a checkpoint. Verifying needs only the public half, which can be given
to anyone (AUDIT_CHECKPOINT_PUBLIC_KEYS, or `--public-key`).

Public keys are written as 43 characters of unpadded URL-safe base64 of the
32 raw bytes; a key's id is the first 16 hex digits of their SHA-256, short
enough to print in every checkpoint so the verifier knows which key to try.
"""

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings


class SigningKeyError(Exception):
    """The signing key is missing, unreadable or not an Ed25519 key."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_text(public: Ed25519PublicKey) -> str:
    return base64.urlsafe_b64encode(_raw(public)).rstrip(b"=").decode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as printed by `make_audit_signing_key`; ValueError names a bad one."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{cleaned!r} is not an Ed25519 public key (43 characters of base64)")
    return Ed25519PublicKey.from_public_bytes(raw)


def make_signing_key(path: Path) -> Ed25519PublicKey:
    """
    Write a new private key to `path` (which must not exist), readable by its
    owner only, and return its public half.
    """
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: an existing key is never overwritten (its checkpoints would become
    # unverifiable the moment its public half is forgotten).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return private.public_key()


def _signing_key() -> Ed25519PrivateKey:
    path = settings.AUDIT_SIGNING_KEY_FILE
    if not path:
        raise SigningKeyError("AUDIT_SIGNING_KEY_FILE is not set")
    try:
        private = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as error:
        raise SigningKeyError(f"the signing key file cannot be read ({error.strerror})") from None
    except ValueError:
        raise SigningKeyError("the signing key file does not hold a PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError("the signing key file does not hold an Ed25519 key")
    return private


def signing_configured() -> bool:
    return bool(settings.AUDIT_SIGNING_KEY_FILE)


def signing_key_id() -> str:
    return key_id(_signing_key().public_key())


def sign(message: bytes) -> str:
    """The signature of `message`, in unpadded URL-safe base64 (86 characters)."""
    signature = _signing_key().sign(message)
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def trusted_keys(extra: list[str] | None = None) -> dict[str, Ed25519PublicKey]:
    """
    The public keys checkpoints may be signed with, by id: those given, else
    AUDIT_CHECKPOINT_PUBLIC_KEYS, else (on the server itself) the signing key's
    own public half. A verifier off the server should always name its keys.
    """
    texts = extra or settings.AUDIT_CHECKPOINT_PUBLIC_KEYS
    keys = [parse_public_key(text) for text in texts]
    if not keys and signing_configured():
        keys = [_signing_key().public_key()]
    return {key_id(key): key for key in keys}


def signature_holds(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        public.verify(raw, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
