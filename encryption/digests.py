"""
Keyed digests: HMAC-SHA256 under a key derived from ENCRYPTION_KEY and never
stored (encryption.keys). Callers get a digest and never the key, so a value
kept only as such a digest cannot be tested against a guess by anyone who
reads the cache, the broker or the database: they would need ENCRYPTION_KEY.

* `keyed_digest`: server-side names of things (a rate-limit counter's name,
  rotated daily).
* `flood_digest`: a flood's group of identical narratives. Its key is not
  derived from ENCRYPTION_KEY: it is drawn at random when a flood starts and
  lives only in the cache, for the flood's life, and is forgotten once nothing
  of the flood is held (`forget_flood_key`). A digest left in the database
  therefore cannot be used to test a guessed narrative, even by someone who
  holds ENCRYPTION_KEY; the digests themselves are cleared on release or
  rejection (cases.services).
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
import logging
import secrets
from datetime import date

from django.core.cache import cache

from encryption.keys import purpose_key, purpose_keys

logger = logging.getLogger(__name__)


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


# A flood goes on while requests keep being held within an hour of each other
# (cases.services.current_flood): each use keeps its key for two more hours.
FLOOD_KEY_SECONDS = 2 * 3600


def _flood_key_name(flood_id: int) -> str:
    return f"flood-digest-key:{flood_id}"


def flood_digest(flood_id: int, text: str) -> str:
    """
    The hex HMAC-SHA256 of `text` under this flood's key, drawn at random on
    first use and shared through the cache by every process. Without a
    reachable cache each text gets a key of its own: the request is still
    received, only not grouped with its copies.
    """
    name = _flood_key_name(flood_id)
    try:
        cache.add(name, secrets.token_bytes(32), timeout=FLOOD_KEY_SECONDS)
        key = cache.get(name)
        cache.touch(name, FLOOD_KEY_SECONDS)
    except Exception:
        logger.warning("flood digests are not grouped (cache unreachable)")
        key = None
    if not isinstance(key, bytes) or len(key) != 32:
        key = secrets.token_bytes(32)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def forget_flood_key(flood_id: int) -> None:
    """Nothing of this flood is held any more: its key goes, and with it any
    way to tell which text a digest it made was of."""
    try:
        cache.delete(_flood_key_name(flood_id))
    except Exception:
        logger.warning("a flood's digest key could not be forgotten now; it expires by itself")
