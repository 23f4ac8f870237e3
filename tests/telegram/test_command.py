"""manage.py run_telegram_bot: refuses to start without a usable token, and says why."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.telegram.conftest import TOKEN
from tests.telegram.helpers import run_bot
from tests.test_settings import manage

pytestmark = pytest.mark.django_db


def test_it_refuses_to_start_without_a_token():
    result = manage("run_telegram_bot", DEBUG="1")

    assert result.returncode == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("token", ["not-a-token", "123456:has space", ":abc", "abc:def"])
def test_it_refuses_a_token_that_cannot_be_one(settings, token):
    settings.TELEGRAM_BOT_TOKEN = token

    with pytest.raises(CommandError, match="is not a token from @BotFather") as refused:
        call_command("run_telegram_bot", "--drain")

    assert token not in str(refused.value)


def test_it_says_how_it_runs_and_never_prints_the_token(fake):
    output = run_bot()

    assert f"long polling, Bot API at 127.0.0.1:{fake.port}" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_a_webhook_address_needs_its_secret():
    result = manage(
        "check",
        DEBUG="1",
        TELEGRAM_WEBHOOK_URL="https://tropa.example.org/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET="short",
    )

    assert result.returncode != 0
    assert "TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TELEGRAM_WEBHOOK_URL", "tropa.example.org/hook", "TELEGRAM_WEBHOOK_URL must be"),
        ("TELEGRAM_WEBHOOK_LISTEN", "8081", "TELEGRAM_WEBHOOK_LISTEN must be host:port"),
        ("TELEGRAM_FLOOD_LIMIT", "lots", "TELEGRAM_FLOOD_LIMIT must be a rate"),
    ],
)
def test_bad_bot_settings_are_named(name, value, expected):
    secret = "s" * 40
    result = manage("check", DEBUG="1", TELEGRAM_WEBHOOK_SECRET=secret, **{name: value})

    assert result.returncode != 0
    assert expected in result.stderr
