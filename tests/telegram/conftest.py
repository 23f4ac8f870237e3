"""
The bot's tests run the real `run_telegram_bot` command against a fake Bot API
server (tests/fake_telegram.py) on 127.0.0.1. `--drain` handles the updates
waiting there and exits, so a test queues what the person does, runs the bot
and reads what it sent.

Button presses wait for their button (tests/fake_telegram.py), so a whole
dialogue can be queued and handled by one run.

`--drain` does the dialogue's database work in the test's own thread and
transaction, like any management command; only tests that run the bot in a
thread of its own (webhook, a bot left running) commit their data.
"""

import pytest
from aiogram.utils.backoff import BackoffConfig

from telegram_bot import runner
from tests.conftest import remember_sensitive
from tests.fake_telegram import FakeBotApi

TOKEN = "7000000001:AAHk3dTestTokenXq9vT2mW8rZ5pL1nB4cD"

# Chat ids, usernames and names of the people in these tests: none of them may
# ever appear in a log, the database, the cache or a task.
IVAN = (5519273648, "ivan_k_1987", "Ivan Kuzmin-Testov")
OLGA = (6620384759, "olga_w_2001", "Olga Whitfield-Test")


@pytest.fixture
def fake(settings, monkeypatch):
    remember_sensitive(TOKEN)
    api = FakeBotApi(TOKEN).start()
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_URL = api.url
    settings.TELEGRAM_WEBHOOK_URL = ""
    settings.TELEGRAM_REQUEST_TIMEOUT = 2
    # The flood guard has its own tests; here a test may be quicker than a person.
    settings.TELEGRAM_FLOOD_LIMIT = "1000/m"
    # The backoff's shape stays; its waits shrink to milliseconds.
    monkeypatch.setattr(
        runner, "RETRY", BackoffConfig(min_delay=0.01, max_delay=0.05, factor=2, jitter=0.001)
    )
    yield api
    api.stop()


def _person(fake, chat_id, username, first_name, **kwargs):
    remember_sensitive(chat_id, username, first_name)
    return fake.person(chat_id, username, first_name, **kwargs)


@pytest.fixture
def ivan(fake):
    return _person(fake, *IVAN)


@pytest.fixture
def olga(fake):
    return _person(fake, *OLGA)
