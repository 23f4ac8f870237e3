"""
Keyed digests: HMAC-SHA256 under a key derived from ENCRYPTION_KEY and never
stored (encryption.keys). Callers get a digest and never the key, so a value
kept only as such a digest cannot be tested against a guess by anyone who
reads the cache, the broker or the database: they would need ENCRYPTION_KEY.

* `keyed_digest`: server-side names of things (a rate-limit counter's name,
  rotated daily; a flood group of identical narratives).
* `secret_digest` / `secret_digests`: short secrets that must be recognised but
  never stored, such as staff backup codes (50 random bits: an unkeyed hash
  could be reversed by trying every code; whoever holds ENCRYPTION_KEY can
  already decrypt the TOTP secret beside them, so a slow hash would buy
  nothing but ten slow hashes per sign-in). Each names its context (an
  account), so a digest copied to another account matches nothing, and they
  are looked up under every configured key, so a rotation breaks none.
"""

import hashlib
import hmac
from datetime import date

from encryption.keys import purpose_key, purpose_keys


def keyed_digest(purpose: str, value: str, *, day: date | None = None) -> str:
    """The hex HMAC-SHA256 of `value` under this purpose's key (and day's, if given)."""
    return hmac.new(purpose_key(purpose, day), value.encode("utf-8"), hashlib.sha256).hexdigest()


def _secret_digest(key: bytes, context: str, value: str) -> str:
    message = f"{context}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def secret_digest(purpose: str, context: str, value: str) -> str:
    """The digest to store, under the current key."""
    return _secret_digest(purpose_keys(purpose)[0], context, value)


def secret_digests(purpose: str, context: str, value: str) -> list[str]:
    """The digests under every configured key, current first: what to look up."""
    return [_secret_digest(key, context, value) for key in purpose_keys(purpose)]
