"""
The content-key primitives of docs/encryption.md, with no database in sight.

Everything here is a small function over bytes built from `cryptography`'s
HPKE, X25519, ChaCha20-Poly1305, HKDF and Argon2id; the formats are those of
docs/encryption.md (Stored formats), and every stored value starts with a
version byte. Models and services (encryption/models.py, encryption/services.py)
decide where keys live; this module only knows how to use them.

Keys are plain `bytes` of 32: nothing here logs, prints or repr()s one.
"""

import base64
import functools
import hashlib
import hmac
import json
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from encryption import padding

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)

# The first byte of a sealed value, which is also its format. Neither 0xC1 nor
# 0xC0 ever starts valid UTF-8, so a sealed value is told apart from one stored
# before content keys (plain UTF-8). Version 1 is bound to its field only;
# version 2 also to its row (docs/encryption.md, Stored formats).
SEALED_VALUE = 0xC1
SEALED_VALUE_V2 = 0xC0
WRAP_V1 = 0x01
WRAP_V2 = 0x02


class CannotOpen(Exception):
    """A wrong key, a damaged value, or a value meant for something else."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


# --- symmetric: values and wrapped keys -------------------------------------


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return _seal_with(ChaCha20Poly1305(key), plaintext, aad)


def _seal_with(aead: ChaCha20Poly1305, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise CannotOpen("too short")
    try:
        return ChaCha20Poly1305(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise CannotOpen("the key does not open this value") from None


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(secret)


def _bound(prefix: bytes, purpose: str, row: str) -> bytes:
    """Associated data naming a purpose and the row a value belongs to. The purpose
    (model.field) never holds "|", so the row after it cannot shift the boundary."""
    return _bound_prefix(prefix, purpose) + row.encode("utf-8")


@functools.lru_cache(maxsize=256)
def _bound_prefix(prefix: bytes, purpose: str) -> bytes:
    return prefix + purpose.encode("ascii") + b"|"


@functools.lru_cache(maxsize=256)
def _value_aad(label: str) -> bytes:
    return b"tropa/value/v1|" + label.encode("ascii")


def seal_text(key: bytes, text: str, label: str, row: str) -> bytes:
    """A sealed value (version 2): version byte, nonce, ChaCha20-Poly1305 of the padded
    text (encryption.padding: its length says only which size bucket the text is in),
    bound to its field (`label`) and to its row (`row`, e.g. the request's reference)."""
    return ValueSealer(key).seal_text(text, label, row)


class ValueSealer:
    """Seals several values under one key, with one cipher object for them all
    (an import seals two or three values under each of a million keys)."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def seal_text(self, text: str, label: str, row: str) -> bytes:
        padded = padding.pad(text.encode("utf-8"))
        aad = _bound(b"tropa/value/v2|", label, row)
        return bytes([SEALED_VALUE_V2]) + _seal_with(self._aead, padded, aad)


def open_text(key: bytes, sealed: bytes, label: str, row: str) -> str:
    """The text of a sealed value of either version. A version-2 value opens only
    for the row it was sealed for; a version-1 value names no row (until it is
    sealed again as version 2: encryption.binding)."""
    if sealed[:1] == bytes([SEALED_VALUE_V2]):
        aad = _bound(b"tropa/value/v2|", label, row)
    elif sealed[:1] == bytes([SEALED_VALUE]):
        aad = _value_aad(label)
    else:
        raise CannotOpen("not a sealed value")
    try:
        return padding.unpad(_open(key, sealed[1:], aad)).decode("utf-8")
    except padding.BadPadding:
        raise CannotOpen("a sealed value with a damaged padding") from None


def is_sealed(payload: bytes) -> bool:
    return payload[:1] in (bytes([SEALED_VALUE]), bytes([SEALED_VALUE_V2]))


def is_bound(payload: bytes) -> bool:
    """Whether a sealed value or a wrapped key is bound to its row (version 2)."""
    return payload[:1] in (bytes([SEALED_VALUE_V2]), bytes([WRAP_V2]))


@functools.lru_cache(maxsize=64)
def _wrap_aad(purpose: str) -> bytes:
    return b"tropa/wrapped-key/v1|" + purpose.encode("ascii")


def wrap_key(envelope_id: int, envelope_key: bytes, key: bytes, purpose: str, row: str) -> bytes:
    """`key` wrapped under an envelope's key, naming the envelope, bound to its
    column (`purpose`) and its row (version 2)."""
    return KeyWrapper(envelope_id, envelope_key).wrap(key, purpose, row)


class KeyWrapper:
    """Wraps many keys under one envelope key (one cipher object for them all)."""

    def __init__(self, envelope_id: int, envelope_key: bytes) -> None:
        self._header = struct.pack(">BQ", WRAP_V2, envelope_id)
        self._aead = ChaCha20Poly1305(envelope_key)

    def wrap(self, key: bytes, purpose: str, row: str) -> bytes:
        aad = _bound(b"tropa/wrapped-key/v2|", purpose, row)
        return self._header + _seal_with(self._aead, key, aad)


def envelope_of(wrapped: bytes) -> int:
    """The id of the envelope whose key opens this wrapped key."""
    if len(wrapped) < 9 or wrapped[0] not in (WRAP_V1, WRAP_V2):
        raise CannotOpen("not a wrapped key")
    return struct.unpack(">Q", wrapped[1:9])[0]


def unwrap_key(envelope_key: bytes, wrapped: bytes, purpose: str, row: str) -> bytes:
    """The key, from a wrapped key of either version; version 2 only on its own row."""
    envelope_of(wrapped)
    if wrapped[0] == WRAP_V2:
        aad = _bound(b"tropa/wrapped-key/v2|", purpose, row)
    else:
        aad = _wrap_aad(purpose)
    return _open(envelope_key, wrapped[9:], aad)


# --- public keys --------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An X25519 key pair as raw bytes. repr is off: keys never reach a log."""

    private: bytes
    public: bytes


def new_key_pair() -> KeyPair:
    return key_pair_from(X25519PrivateKey.generate().private_bytes_raw())


def key_pair_from(private: bytes) -> KeyPair:
    key = X25519PrivateKey.from_private_bytes(private)
    return KeyPair(private=private, public=key.public_key().public_bytes_raw())


def seal_to(public: bytes, plaintext: bytes, info: str) -> bytes:
    """HPKE (RFC 9180) base mode to an X25519 public key: enc (32) + ciphertext."""
    recipient = X25519PublicKey.from_public_bytes(public)
    return _SUITE.encrypt(plaintext, recipient, info=info.encode("ascii"))


def open_sealed(private: bytes, sealed: bytes, info: str) -> bytes:
    try:
        return _SUITE.decrypt(
            sealed, X25519PrivateKey.from_private_bytes(private), info=info.encode("ascii")
        )
    except (InvalidTag, ValueError):
        raise CannotOpen("this key does not open the sealed value") from None


def envelope_info(organisation_key_id: int) -> str:
    return f"tropa/envelope/v1|{organisation_key_id}"


def grant_info(organisation_key_id: int, user_id: int) -> str:
    return f"tropa/grant/v1|{organisation_key_id}|{user_id}"


def recovery_info(organisation_key_id: int) -> str:
    return f"tropa/recovery/v1|{organisation_key_id}"


REQUESTER_INFO = "tropa/requester/v1"


def safety_code(public: bytes) -> str:
    """What two people compare before a grant: 80 bits of the key's SHA-256."""
    digits = base64.b32encode(hashlib.sha256(public).digest()[:10]).decode()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


# --- passwords ----------------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost (RFC 9106): passes, memory in KiB, lanes."""

    passes: int
    memory_kib: int
    lanes: int = 1


def password_key(password: str, salt: bytes, params: KdfParams) -> bytes:
    return Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.passes,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(password.encode("utf-8"))


def _caseworker_aad(user_id: int) -> bytes:
    return f"tropa/caseworker-key/v1|{user_id}".encode("ascii")


def wrap_under_password(
    private: bytes, password: str, user_id: int, params: KdfParams
) -> tuple[bytes, bytes]:
    """(salt, wrapped): the caseworker private key under Argon2id(password)."""
    salt = os.urandom(SALT_BYTES)
    wrapped = bytes([WRAP_V1]) + _seal(
        password_key(password, salt, params), private, _caseworker_aad(user_id)
    )
    return salt, wrapped


def unwrap_under_password(
    wrapped: bytes, password: str, salt: bytes, params: KdfParams, user_id: int
) -> bytes:
    if wrapped[:1] != bytes([WRAP_V1]):
        raise CannotOpen("unknown caseworker key format")
    return _open(password_key(password, salt, params), wrapped[1:], _caseworker_aad(user_id))


# --- the requester's key, from the receipt code ---------------------------------


def requester_key_pair(selector: str, secret: str) -> KeyPair:
    """The requester's key pair: nothing stored can give it, only their code."""
    private = _hkdf(secret.encode("ascii"), b"tropa/requester/v1", selector.encode("ascii"))
    return key_pair_from(private)


# --- the recovery key -----------------------------------------------------------

_RECOVERY_PREFIX = "TROPA-RK1"


def new_recovery_secret() -> bytes:
    return new_key()


def format_recovery_key(secret: bytes) -> str:
    digits = base64.b32encode(secret).decode().rstrip("=")
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return "-".join([_RECOVERY_PREFIX, *groups])


def parse_recovery_key(typed: str) -> bytes:
    """The secret behind a typed recovery key, forgiving case, spaces and dashes."""
    text = "".join(typed.upper().split()).replace("-", "")
    prefix = _RECOVERY_PREFIX.replace("-", "")
    if not text.startswith(prefix):
        raise CannotOpen("a recovery key starts with " + _RECOVERY_PREFIX)
    digits = text[len(prefix) :]
    try:
        secret = base64.b32decode(digits + "=" * (-len(digits) % 8))
    except ValueError:
        raise CannotOpen("this is not a recovery key") from None
    if len(secret) != KEY_BYTES:
        raise CannotOpen("this is not a recovery key")
    return secret


def recovery_key_pair(secret: bytes) -> KeyPair:
    return key_pair_from(_hkdf(secret, b"tropa/recovery/v1", b"x25519"))


# --- the session's copy of the organisation keys --------------------------------


def _session_aad(user_id: int) -> bytes:
    return f"tropa/session/v1|{user_id}".encode("ascii")


def seal_session(session_key: bytes, keys: dict[int, bytes], user_id: int) -> str:
    payload = json.dumps({str(k): base64.b64encode(v).decode() for k, v in keys.items()})
    blob = bytes([WRAP_V1]) + _seal(session_key, payload.encode(), _session_aad(user_id))
    return base64.b64encode(blob).decode()


def open_session(session_key: bytes, sealed: str, user_id: int) -> dict[int, bytes]:
    try:
        blob = base64.b64decode(sealed, validate=True)
    except ValueError:
        raise CannotOpen("not a session value") from None
    if blob[:1] != bytes([WRAP_V1]):
        raise CannotOpen("unknown session format")
    payload = json.loads(_open(session_key, blob[1:], _session_aad(user_id)))
    return {int(k): base64.b64decode(v) for k, v in payload.items()}


def encode_cookie_key(session_key: bytes) -> str:
    return base64.urlsafe_b64encode(session_key).decode().rstrip("=")


def decode_cookie_key(text: str) -> bytes | None:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return key if len(key) == KEY_BYTES else None


# --- a draft kept while its writer signs in again (encryption.drafts) ---------------


def _draft_aad(draft_id: str, page: str) -> bytes:
    return f"tropa/draft/v1|{draft_id}|{page}".encode()


def seal_draft(key: bytes, payload: bytes, draft_id: str, page: str) -> bytes:
    """A kept draft, bound to its row and to the page it was typed on."""
    return bytes([WRAP_V1]) + _seal(key, payload, _draft_aad(draft_id, page))


def open_draft(key: bytes, sealed: bytes, draft_id: str, page: str) -> bytes:
    if sealed[:1] != bytes([WRAP_V1]):
        raise CannotOpen("unknown draft format")
    return _open(key, sealed[1:], _draft_aad(draft_id, page))


# --- fingerprints ------------------------------------------------------------------


def fingerprint_key(organisation_private: bytes) -> bytes:
    """The contact-fingerprint key: only whoever holds the organisation key has it."""
    return _hkdf(organisation_private, b"tropa/fingerprint/v1", b"contact-fingerprint")


def fingerprint(key: bytes, normalised_contact: str) -> str:
    return hmac.new(key, normalised_contact.encode("utf-8"), hashlib.sha256).hexdigest()
