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


def _over(key: str, rate: Rate) -> bool:
    cache.add(key, 0, timeout=rate.seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=rate.seconds)
        count = 1
    return count > rate.count


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
        if ceiling and _over(f"ratelimit:{scope}:all", ceiling):
            logger.warning("global %s ceiling reached", scope)
            return Count(over_ceiling=True)
    except Exception:
        logger.warning("rate limiting is unavailable (cache unreachable): request allowed")
    return Count()


def limited(
    request: HttpRequest, scope: str, per_source: Rate | None, ceiling: Rate | None
) -> bool:
    """Count this request; True when it goes over either limit."""
    counted = count(request, scope, per_source, ceiling)
    return counted.over_source or counted.over_ceiling
