"""
Single-use tokens for the public forms, so that Reload (or a browser that
sends a form again) does not send a request, or a message, twice.

Each form page carries a random token in a hidden field. The first POST that
carries it claims it; a POST with a claimed token is a replay and is told that
what it carries was already sent. A claim is a cache entry named by a keyed
digest of the token (encryption.digests), kept for a day; nothing is stored
in the database. A form without a token (an old page) is taken as before, and
an unreachable cache never stops a request: at worst a replay goes through.
"""

import logging
import re
import secrets

from django.core.cache import cache

from encryption.digests import keyed_digest

logger = logging.getLogger(__name__)

FIELD = "once"
LIFETIME = 86400
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    return secrets.token_urlsafe(16)


def token_of(data) -> str | None:
    """The form's token, if it carries a well-formed one."""
    token = data.get(FIELD, "")
    return token if _WELL_FORMED.fullmatch(token) else None


def _key(scope: str, token: str) -> str:
    return f"once:{scope}:{keyed_digest('form-once', token)[:32]}"


def claim(scope: str, token: str | None) -> bool:
    """True the first time a token is presented (or when it cannot be checked)."""
    if token is None:
        return True
    try:
        return bool(cache.add(_key(scope, token), 1, timeout=LIFETIME))
    except Exception:
        logger.warning("single-use form tokens are unavailable (cache unreachable)")
        return True


def release(scope: str, token: str | None) -> None:
    """Give a claimed token back: what it carried was not stored after all."""
    if token is None:
        return
    try:
        cache.delete(_key(scope, token))
    except Exception:
        logger.warning("single-use form tokens are unavailable (cache unreachable)")
