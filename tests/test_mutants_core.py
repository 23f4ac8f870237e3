"""
Mistakes in core/ratelimit.py that mutation testing (dev.py mutants) showed no
test would notice: what a rate means, whose address is counted behind our
proxy, and that either limit alone refuses.
"""

import uuid

import pytest

from core.ratelimit import Rate, client_address, limited


def test_a_rate_reads_its_unit_and_multiple():
    assert Rate.parse("5/s") == Rate(5, 1)
    assert Rate.parse("5/m") == Rate(5, 60)
    assert Rate.parse("2/h") == Rate(2, 3600)
    assert Rate.parse("1/d") == Rate(1, 86400)
    assert Rate.parse("3 / 10m") == Rate(3, 600)


def test_behind_our_proxy_the_first_forwarded_address_is_the_clients(rf, settings):
    settings.INTAKE_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1", REMOTE_ADDR="10.0.0.1")

    assert client_address(request) == "203.0.113.7"


@pytest.mark.parametrize("which", ["per_source", "ceiling"])
def test_either_limit_alone_refuses(rf, which):
    scope = f"mutants-{uuid.uuid4().hex}"  # counters of their own
    limits = {"per_source": None, "ceiling": None, which: Rate(1, 60)}
    request = rf.get("/", REMOTE_ADDR="198.51.100.9")

    assert not limited(request, scope, **limits)
    assert limited(request, scope, **limits)
