"""
Keyed digests of short secrets that must be recognised but never stored, such
as staff backup codes.

A backup code holds 50 random bits: an unkeyed hash of it could be reversed by
trying every code. An HMAC under a key derived from ENCRYPTION_KEY (which is
never in the database) makes a database dump useless for that, and whoever
holds ENCRYPTION_KEY can already decrypt the TOTP secret beside the codes, so a
slow password hash would buy nothing there while making every sign-in with a
backup code cost ten slow hashes. Each digest names its context (an account),
so a digest copied to another account matches nothing.
"""

import hashlib
import hmac

from encryption.keys import purpose_keys


def _digest(key: bytes, context: str, value: str) -> str:
    message = f"{context}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def keyed_digest(purpose: str, context: str, value: str) -> str:
    """The digest to store, under the current key."""
    return _digest(purpose_keys(purpose)[0], context, value)


def keyed_digests(purpose: str, context: str, value: str) -> list[str]:
    """The digests under every configured key, current first: what to look up."""
    return [_digest(key, context, value) for key in purpose_keys(purpose)]
