"""
Keyed digests for server-side purposes: HMAC-SHA256 under a key that is derived
from ENCRYPTION_KEY and never stored (encryption.keys.purpose_key).

Callers get a digest and never the key, so a value that is only ever kept as
such a digest (a rate-limit counter's name, a narrative's flood group) cannot
be tested against a guess by anyone who reads the cache, the broker or the
database: they would need ENCRYPTION_KEY too.
"""

import hashlib
import hmac
from datetime import date

from encryption.keys import purpose_key


def keyed_digest(purpose: str, value: str, *, day: date | None = None) -> str:
    """The hex HMAC-SHA256 of `value` under this purpose's key (and day's, if given)."""
    return hmac.new(purpose_key(purpose, day), value.encode("utf-8"), hashlib.sha256).hexdigest()
