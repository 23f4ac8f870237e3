"""
The rate limiter's counters do not give back who sent what.

The attack replayed here: someone reads the whole cache (a Redis dump or a
MONITOR capture) and hashes every address of a range with every key and value
they found there as a salt or an HMAC key, in both orders, looking for the
names the counters are kept under. Nothing may match.
"""

import hashlib
import hmac
import ipaddress
import pickle

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.intake_helpers import form_data

pytestmark = pytest.mark.django_db

SENDERS = ("127.0.13.37", "127.0.200.5")
ATTACKED_RANGE = ipaddress.ip_network("127.0.0.0/16")


def cache_contents() -> list[tuple[bytes, bytes]]:
    """Every (key, value) of this test's cache namespace, as stored."""
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        return [(key, client.get(key) or b"") for key in client.scan_iter(match=f"{prefix}:*")]
    store = cache._cache  # the local-memory backend's own dict
    return [(key.encode(), value) for key, value in store.items() if key.startswith(prefix)]


def salt_candidates(contents: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Each key and value as found, its parts, and values unpickled where they can be."""
    found = {b""}
    for key, value in contents:
        found.update({key, value, *key.split(b":")})
        try:
            unpickled = pickle.loads(value)  # noqa: S301 - the test's own cache
        except Exception:  # noqa: S112 - not every value is pickled
            continue
        found.add(str(unpickled).encode())
    return found


def hex_names(contents: list[tuple[bytes, bytes]]) -> set[str]:
    """Parts of the keys that look like (truncated) hex digests."""
    names = set()
    for key, _value in contents:
        for part in key.decode(errors="replace").split(":"):
            if len(part) >= 16 and all(c in "0123456789abcdef" for c in part.lower()):
                names.add(part.lower())
    return names


def recovered_addresses(contents: list[tuple[bytes, bytes]]) -> set[str]:
    names = hex_names(contents)
    lengths = {len(name) for name in names}
    addresses = [str(address).encode() for address in ATTACKED_RANGE]
    found = set()
    for salt in salt_candidates(contents):
        salted = hashlib.sha256(salt)
        keyed = hmac.new(salt, digestmod=hashlib.sha256)
        for raw in addresses:
            salt_first, key_first = salted.copy(), keyed.copy()
            salt_first.update(raw)
            key_first.update(raw)
            digests = (
                salt_first.hexdigest(),
                hashlib.sha256(raw + salt).hexdigest(),
                key_first.hexdigest(),
                hmac.digest(raw, salt, "sha256").hex(),
            )
            for digest in digests:
                if any(digest[:length] in names for length in lengths):
                    found.add(raw.decode())
    return found


def test_no_sender_address_can_be_recovered_from_the_cache(client):
    for address in SENDERS:
        assert client.post("/", form_data(), REMOTE_ADDR=address).status_code == 200
        client.post("/status/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, REMOTE_ADDR=address)
    contents = cache_contents()

    # The counters are there (the limit works), under names nobody can reverse.
    assert len(hex_names(contents)) == len(SENDERS)
    assert recovered_addresses(contents) == set()


def test_the_limit_still_tells_senders_apart(client, settings):
    settings.INTAKE_RATE_LIMIT = "1/h"
    first, second = SENDERS

    assert client.post("/", form_data(), REMOTE_ADDR=first).status_code == 200
    assert client.post("/", form_data(), REMOTE_ADDR=first).status_code == 429
    assert client.post("/", form_data(), REMOTE_ADDR=second).status_code == 200
