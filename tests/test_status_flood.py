"""
/status/ under a flood of wrong codes (fourth review, item 1): only failed
lookups count, per sender and against the shared ceiling; a right code always
opens its request; the ceiling's window is minutes, not an hour; on the onion
each Tor circuit is a sender; each request has its own budget of messages.
"""

import pytest
from django.test import Client

from intake.models import RequestMessage
from tests.intake_helpers import submit

pytestmark = pytest.mark.django_db


def lookup(client, code: str, address: str = "198.51.100.7", **headers):
    return client.post("/status/", {"code": code}, REMOTE_ADDR=address, **headers)


@pytest.fixture
def onion(settings):
    """The onion instance before this change: no per-sender limit, one shared ceiling."""
    settings.STATUS_RATE_LIMIT = "0"
    settings.STATUS_GLOBAL_LIMIT = "40/5m"
    return settings


def test_a_flood_of_wrong_codes_does_not_stop_a_right_one_elsewhere(client, onion):
    code = submit(client)
    flood = Client()
    answers = [lookup(flood, "x", "127.0.0.1").status_code for _ in range(60)]

    assert answers[:40] == [200] * 40  # "no request matches"
    assert set(answers[40:]) == {429}
    right = lookup(Client(), code, "203.0.113.9")
    assert right.status_code == 200
    assert 'class="status-words"' in right.content.decode()


def test_past_the_ceiling_a_wrong_code_waits_minutes_not_an_hour(client, onion):
    for _ in range(40):
        lookup(client, "x")

    refused = lookup(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert "Wait 5 minutes" in refused.content.decode()


def test_right_codes_do_not_use_up_the_ceiling(client, onion):
    code = submit(client)
    for _ in range(50):
        assert lookup(client, code).status_code == 200

    wrong = lookup(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert wrong.status_code == 200
    assert "No request matches this code" in wrong.content.decode()


def test_a_sender_that_failed_too_often_waits_but_others_do_not(client, settings):
    settings.STATUS_RATE_LIMIT = "5/h"
    code = submit(client)
    for _ in range(5):
        assert lookup(client, "x", "192.0.2.1").status_code == 200

    assert lookup(client, "x", "192.0.2.1").status_code == 429
    assert "from your connection" in lookup(client, code, "192.0.2.1").content.decode()
    assert lookup(client, code, "192.0.2.2").status_code == 200


def test_on_the_onion_each_circuit_is_a_sender(client, settings):
    """nginx passes Tor's circuit name (PROXY protocol) as X-Tor-Circuit."""
    settings.STATUS_RATE_LIMIT = "5/h"
    settings.INTAKE_ADDRESS_HEADER = "HTTP_X_TOR_CIRCUIT"
    code = submit(client)
    first = {"HTTP_X_TOR_CIRCUIT": "fc00:dead:beef:4dad::0:1a2b"}
    second = {"HTTP_X_TOR_CIRCUIT": "fc00:dead:beef:4dad::0:1a2c"}
    for _ in range(6):
        lookup(client, "x", "127.0.0.1", **first)

    assert lookup(client, "x", "127.0.0.1", **first).status_code == 429
    assert lookup(client, code, "127.0.0.1", **second).status_code == 200


# --- messages: a budget per request -------------------------------------------------


def send(client, code: str, body: str):
    return client.post("/status/message/", {"code": code, "body": body})


def test_a_request_has_a_daily_budget_of_messages_and_keeps_what_was_typed(client, settings):
    settings.REQUESTER_MESSAGES_PER_DAY = 3
    code, other = submit(client), submit(client)
    for n in range(3):
        assert "Your message was sent." in send(client, code, f"message {n}").content.decode()

    refused = send(client, code, "one more thing to say")

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "You can write again tomorrow" in page
    assert "one more thing to say</textarea>" in page
    assert RequestMessage.objects.filter(request__receipt_selector=code[:4]).count() == 3
    # Another request's budget is its own.
    assert "Your message was sent." in send(client, other, "hello").content.decode()


def test_a_request_has_a_budget_in_all(client, settings):
    settings.REQUESTER_MESSAGES_IN_ALL = 2
    code = submit(client)
    send(client, code, "first")
    send(client, code, "second")

    refused = send(client, code, "third")

    assert refused.status_code == 429
    assert "reached its limit of messages" in refused.content.decode()
    assert RequestMessage.objects.count() == 2
