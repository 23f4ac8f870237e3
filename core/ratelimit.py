"""
Rate limits that remember no one.

A sender is counted under an HMAC of their address, held only in the cache and
only for the length of the window. The HMAC key is derived from ENCRYPTION_KEY
and the day (encryption.digests), so it never reaches the cache, the broker or
the database: someone who dumps Redis or watches its traffic cannot recover an
address by hashing every candidate (IPv4 takes minutes on a GPU), and
yesterday's counters cannot be linked to today's. Beside the per-sender limit
(which can be off: behind an onion service every client shares one address) a
global ceiling counts everyone together: over it, lookups are refused, and
submissions are still taken but held out of the triage queue (intake.views).
If the cache is unreachable the request is allowed and a warning is logged: a
real request must never be lost to a broken cache.
"""

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from encryption.digests import keyed_digest

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate | None":
        """ "10/h" -> 10 per hour; "0" or "" -> no limit."""
        text = (text or "").strip().lower()
        if text in ("", "0", "off", "none"):
            return None
        match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([smhd])", text)
        if not match:
            raise ValueError(f"{text!r} is not a rate such as 10/h")
        count, multiple, unit = match.groups()
        return cls(int(count), int(multiple or 1) * UNITS[unit])


def _source(request: HttpRequest) -> str:
    """The name a sender is counted under: today's keyed digest of the address."""
    today = timezone.now().date()  # UTC: the key changes at midnight UTC
    return keyed_digest("rate-limit", client_address(request), day=today)[:32]


def client_address(request: HttpRequest) -> str:
    header = settings.INTAKE_ADDRESS_HEADER
    if header:
        # Set by our own reverse proxy; the first address is the client's.
        return request.META.get(header, "").split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _counted(key: str, rate: Rate) -> int:
    """This request's number in the window (1 for the first)."""
    cache.add(key, 0, timeout=rate.seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=rate.seconds)
        return 1


def _over(key: str, rate: Rate) -> bool:
    return _counted(key, rate) > rate.count


@dataclass(frozen=True)
class Count:
    """Where this request stands: over its sender's limit, or over everyone's."""

    over_source: bool = False
    over_ceiling: bool = False


def count(request: HttpRequest, scope: str, per_source: Rate | None, ceiling: Rate | None) -> Count:
    """Count this request against its sender's limit and the global ceiling."""
    try:
        # The sender's own limit first: a sender already refused does not use up
        # the ceiling that every other requester shares.
        if per_source and _over(f"ratelimit:{scope}:{_source(request)}", per_source):
            return Count(over_source=True)
        if ceiling:
            number = _counted(f"ratelimit:{scope}:all", ceiling)
            if number == ceiling.count + 1:  # once per window, not once per request
                logger.warning("global %s ceiling reached", scope)
            if number > ceiling.count:
                return Count(over_ceiling=True)
    except Exception:
        logger.warning("rate limiting is unavailable (cache unreachable): request allowed")
    return Count()


def spent(request: HttpRequest, scope: str, per_source: Rate | None) -> bool:
    """
    Whether this sender has already used up its budget of `scope` (counted by
    `count` as failures happen): looked at, not counted. Only the sender's own
    budget: a shared ceiling must never stop a request that would succeed.
    """
    if per_source is None:
        return False
    try:
        return (cache.get(f"ratelimit:{scope}:{_source(request)}") or 0) >= per_source.count
    except Exception:
        logger.warning("rate limiting is unavailable (cache unreachable): request allowed")
        return False


def limited(
    request: HttpRequest, scope: str, per_source: Rate | None, ceiling: Rate | None
) -> bool:
    """Count this request; True when it goes over either limit."""
    counted = count(request, scope, per_source, ceiling)
    return counted.over_source or counted.over_ceiling
