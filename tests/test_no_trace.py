"""No client address, user agent or referrer reaches the database or the logs."""

import logging

import pytest
from django.apps import apps
from django.core import serializers

from core.logging import DropClientData, scrub
from tests.intake_helpers import form_data

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.199"
AGENT = "VeryDistinctiveAgent/3.1"
REFERRER = "https://elsewhere.example/distinctive-referrer"


def test_a_submission_leaves_no_client_detail_in_the_database_or_logs(client, caplog, alice):
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/", form_data(), REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT, HTTP_REFERER=REFERRER
        )
        client.post("/status/", {"code": "nope"}, REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)
        client.get("/missing-page", REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)

    everything = serializers.serialize(
        "json", [obj for model in apps.get_models() for obj in model._default_manager.all()]
    )
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    for detail in (ADDRESS, AGENT, REFERRER):
        assert detail not in everything
        assert detail not in logged


def test_the_filter_masks_addresses_and_query_strings_and_drops_the_request():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1,
        "Bad request from %s to %s", ("198.51.100.7", "/status/?code=SECRET"), None,
    )  # fmt: skip
    record.request = object()

    assert DropClientData().filter(record)
    assert record.getMessage() == "Bad request from [address] to /status/?[query]"
    assert record.request is None
    assert scrub("fe80::1ff:fe23:4567:890a") == "[address]"


def test_the_filter_masks_urls_and_escapes_invisible_characters_in_messages_and_tracebacks():
    try:
        raise ValueError("bad host https://elsewhere.example/x\x00")
    except ValueError:
        import sys

        error = sys.exc_info()
    record = logging.LogRecord(
        "django.security.csrf", logging.WARNING, __file__, 1,
        "Forbidden (%s): %s", ("Referer checking failed - " + REFERRER, "/\x00\r\nforged\u202e"),
        error,
    )  # fmt: skip

    assert DropClientData().filter(record)
    line = logging.Formatter().format(record)
    assert line.splitlines()[0] == (
        "Forbidden (Referer checking failed - [url]): /\\x00\\r\\nforged\\u202e"
    )
    assert "Traceback" in line and "ValueError: bad host [url]" in line
    assert REFERRER not in line and "\x00" not in line and "\u202e" not in line
