"""
Keys for a messenger chat that the server must recognise for a short while (a
dialogue in progress, rate limits, a receipt not yet delivered) without ever
storing who it is.

* `chat_handle(chat_id, ...)` is an HMAC of the chat id under
  `purpose_key("telegram-chat")`: it names the chat's entries in the cache, and
  without ENCRYPTION_KEY it cannot be tested against a suspect's chat id.
* `seal_for_chat` / `open_for_chat` encrypt what a person typed (AES-256-GCM)
  under a key derived from that purpose key *and* the chat id itself. A dump
  of the cache opens nothing without the chat id, even with ENCRYPTION_KEY;
  and the sealing key is a different HMAC from any cache key, so knowing a
  key name does not help to open its value.

None of these values is ever stored; the chat id arrives with each update and
is forgotten when the update has been handled.
"""

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from encryption.keys import purpose_key

PURPOSE = "telegram-chat"
_SEAL_CONTEXT = b"tropa/chat-seal/v1"
_NONCE_BYTES = 12


def _mac(*parts: str | int) -> bytes:
    message = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return hmac.new(purpose_key(PURPOSE), message, hashlib.sha256).digest()


def chat_handle(chat_id: int, *context: str | int) -> str:
    """
    A stable name for this chat (and optional context, e.g. an update id) that
    reveals nothing about it: 128 bits of HMAC, in hex.
    """
    return _mac("handle", chat_id, *context)[:16].hex()


def _sealing_key(chat_id: int) -> bytes:
    return _mac("seal", chat_id)


def seal_for_chat(chat_id: int, plaintext: bytes) -> bytes:
    """Encrypt and authenticate `plaintext` so that only this chat's updates open it."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(_sealing_key(chat_id)).encrypt(nonce, plaintext, _SEAL_CONTEXT)


def open_for_chat(chat_id: int, sealed: bytes) -> bytes | None:
    """The plaintext, or None if this chat's key does not open it (another chat's
    value, a value sealed before a key rotation, or a damaged one)."""
    if not isinstance(sealed, bytes) or len(sealed) <= _NONCE_BYTES:
        return None
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return AESGCM(_sealing_key(chat_id)).decrypt(nonce, body, _SEAL_CONTEXT)
    except InvalidTag:
        return None
