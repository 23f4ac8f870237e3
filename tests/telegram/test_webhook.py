"""Webhook mode: Telegram posts updates with its secret token header; nothing else gets in."""

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request

import pytest

from intake.models import HelpRequest
from telegram_bot.runner import BotRunner
from tests.conftest import remember_sensitive, wait_for
from tests.telegram.conftest import TOKEN

# The webhook server runs in a thread of its own, with its own database connection.
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "w3bh00k-Secret_for-the-tests-only-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webhook(fake):
    remember_sensitive(SECRET)
    listen = f"127.0.0.1:{free_port()}"
    bot = BotRunner(TOKEN, fake.url, request_timeout=2)
    loop = asyncio.new_event_loop()
    config = {
        "url": "https://tropa.example.org/telegram/hook-4f9a",
        "secret": SECRET,
        "listen": listen,
    }
    thread = threading.Thread(target=loop.run_until_complete, args=(bot.run(webhook=config),))
    thread.start()
    assert wait_for(lambda: fake.calls_of("setWebhook"))
    yield f"http://{listen}/telegram/hook-4f9a"
    bot.request_stop()
    thread.join(timeout=30)
    loop.close()
    assert not thread.is_alive()


def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def update(ivan, text: str, update_id: int = 900001) -> bytes:
    message = {
        "message_id": 1,
        "date": 1700000000,
        "chat": ivan.as_chat(),
        "from": ivan.as_user(),
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def test_it_registers_the_webhook_with_its_secret(fake, webhook):
    (params,) = fake.calls_of("setWebhook")

    assert params["url"] == "https://tropa.example.org/telegram/hook-4f9a"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ["message", "callback_query"]


def test_an_update_with_the_secret_is_answered_after_it_is_handled(fake, ivan, webhook):
    assert post(webhook, update(ivan, "/start"), SECRET) == 200

    # The answer came only once the replies were out.
    assert fake.sent_to(ivan)[-1].startswith("Вопрос 1 из 8")


def test_it_refuses_updates_without_the_right_secret(fake, ivan, webhook):
    for secret in (None, "", "wrong-secret", SECRET + "x", SECRET[:-1], "sécret"):
        assert post(webhook, update(ivan, "/start"), secret) == 401

    assert fake.sent_to(ivan) == []


def test_a_malformed_body_is_refused_without_a_trace(fake, webhook, caplog):
    for body in (b"not json", b"[]", b'{"update_id": "x"}', b"{" * 10):
        assert post(webhook, body, SECRET) == 400

    assert fake.calls_of("sendMessage") == []
    assert "Traceback" not in caplog.text


def test_an_update_sent_twice_is_handled_once(fake, ivan, webhook):
    # Telegram resends an update it got no answer for in time.
    assert post(webhook, update(ivan, "/start", update_id=900100), SECRET) == 200
    assert post(webhook, update(ivan, "/start", update_id=900100), SECRET) == 200

    assert len(fake.sent_to(ivan)) == 2  # the introduction and the first question, once
    assert not HelpRequest.objects.exists()
