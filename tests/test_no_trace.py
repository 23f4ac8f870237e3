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
