"""
Sign-in throttling that tells an outsider nothing and cannot be turned
against staff.

Three counters stand between a guesser and an account:

* **per source**: every POST to the password and code steps from one address,
  whatever the account (SIGN_IN_RATE_LIMIT);
* **per account and source**: wrong passwords or codes for one account from
  one address (or from one known browser); at SIGN_IN_FAILURE_LIMIT that
  source is refused for that account for SIGN_IN_LOCK_MINUTES, then starts
  again from zero. Someone else's failures never lock the owner out;
* **per account**, from everywhere together (SignInGuard, in the database):
  SIGN_IN_ACCOUNT_FAILURE_LIMIT failures within a day lock the account for
  SIGN_IN_LOCK_MINUTES, except in a browser that signed in to it before (a
  signed cookie), so that a guesser with many addresses still gets nowhere and
  still cannot keep the owner out.

Sources are never stored: counters live only in the cache, for the length of
their window, under an HMAC of the address whose key is derived from
ENCRYPTION_KEY and changes daily (encryption.keys.purpose_key), so neither
the cache nor a database dump links a counter to an address. If the cache is
unreachable, the per-source counters let requests through (and say so in the
log); the account-wide lock still holds.
"""

import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.ratelimit import Rate, client_address
from encryption.keys import purpose_key

logger = logging.getLogger(__name__)

PURPOSE = "staff-sign-in"
KNOWN_BROWSER_COOKIE = "known_browser"
KNOWN_BROWSER_SALT = "accounts.throttle.known-browser"


def _digest(*parts: object) -> str:
    key = purpose_key(PURPOSE, day=timezone.now().date())
    message = "\x00".join(str(part) for part in parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _lock_seconds() -> int:
    return settings.SIGN_IN_LOCK_MINUTES * 60


def _count(key: str, seconds: int) -> int:
    cache.add(key, 0, timeout=seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds)
        return 1


def over_rate_limit(request: HttpRequest) -> bool:
    """Count one POST to a sign-in step from this source; True when over the limit."""
    rate = Rate.parse(settings.SIGN_IN_RATE_LIMIT)
    if rate is None:
        return False
    try:
        return _count(f"signin:source:{_digest('rate', client_address(request))}", rate.seconds) > (
            rate.count
        )
    except Exception:
        logger.warning("sign-in rate limiting is unavailable (cache unreachable)")
        return False


# --- known browsers -------------------------------------------------------------


def _browser_id(request: HttpRequest, user) -> str | None:
    """The id of this browser's valid known-browser cookie for `user`, if any."""
    value = request.COOKIES.get(KNOWN_BROWSER_COOKIE)
    if not value:
        return None
    try:
        payload = signing.loads(
            value,
            salt=KNOWN_BROWSER_SALT,
            max_age=settings.SIGN_IN_KNOWN_BROWSER_DAYS * 86400,
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("user") != user.pk:
        return None
    return str(payload.get("browser", ""))[:64] or None


def known_account(request: HttpRequest) -> int | None:
    """The id of the account this browser's valid known-browser cookie names, if any."""
    try:
        payload = signing.loads(
            request.COOKIES.get(KNOWN_BROWSER_COOKIE, ""),
            salt=KNOWN_BROWSER_SALT,
            max_age=settings.SIGN_IN_KNOWN_BROWSER_DAYS * 86400,
        )
    except signing.BadSignature:
        return None
    user_id = payload.get("user") if isinstance(payload, dict) else None
    return user_id if isinstance(user_id, int) else None


def known_browser(request: HttpRequest, user) -> bool:
    return _browser_id(request, user) is not None


def remember_browser(response: HttpResponse, user) -> None:
    """After a complete sign-in: this browser is known for this account."""
    value = signing.dumps(
        {"user": user.pk, "browser": secrets.token_urlsafe(16)}, salt=KNOWN_BROWSER_SALT
    )
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        value,
        max_age=settings.SIGN_IN_KNOWN_BROWSER_DAYS * 86400,
        path="/staff/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


# --- per account and source -----------------------------------------------------


def _pair(request: HttpRequest, user, generation: int) -> str:
    browser = _browser_id(request, user)
    source = f"browser:{browser}" if browser else f"address:{client_address(request)}"
    return _digest("pair", user.pk, generation, source)


def source_locked(request: HttpRequest, user, generation: int) -> bool:
    """Whether this source is refused for this account."""
    try:
        return cache.get(f"signin:locked:{_pair(request, user, generation)}") is not None
    except Exception:
        logger.warning("sign-in throttling is unavailable (cache unreachable)")
        return False


def count_source_failure(request: HttpRequest, user, generation: int) -> bool:
    """Count a failure of this source for this account; True if it now locks it."""
    pair = _pair(request, user, generation)
    try:
        if _count(f"signin:failures:{pair}", _lock_seconds()) < settings.SIGN_IN_FAILURE_LIMIT:
            return False
        # Locked, and the count starts again from zero: after the lock this
        # source has a full set of tries, not one that re-locks at once.
        cache.set(f"signin:locked:{pair}", 1, timeout=_lock_seconds())
        cache.delete(f"signin:failures:{pair}")
    except Exception:
        logger.warning("sign-in throttling is unavailable (cache unreachable)")
        return False
    return True


def forget_source_failures(request: HttpRequest, user, generation: int) -> None:
    try:
        cache.delete(f"signin:failures:{_pair(request, user, generation)}")
    except Exception:
        logger.warning("sign-in throttling is unavailable (cache unreachable)")
