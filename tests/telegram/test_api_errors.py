"""
The Bot API failing: errors, timeouts, refused connections. Nothing a person
sent is lost, every receipt shown is a stored request, and a request is never
stored twice.
"""

import asyncio
import threading

import pytest
from django.core.management.base import CommandError
from django.db import connection

from intake.models import HelpRequest
from intake.services import find_by_receipt
from telegram_bot import runner
from telegram_bot.runner import SEND_ATTEMPTS, BotRunner
from tests.content_keys import opened
from tests.telegram.conftest import TOKEN
from tests.telegram.helpers import (
    CONTACT,
    NARRATIVE,
    answer_everything,
    receipt_in,
    run_bot,
    submit_through_bot,
)

pytestmark = pytest.mark.django_db


def delivered(fake, person, text: str) -> bool:
    return any(text in sent for sent in fake.sent_to(person))


@pytest.mark.parametrize("kind", ["500", "502"])
def test_updates_are_fetched_again_after_server_errors(fake, ivan, kind):
    fake.fail("getUpdates", kind, times=3)
    ivan.says("/start")

    run_bot()

    assert delivered(fake, ivan, "Вопрос 1 из 8")
    assert len(fake.calls_of("getUpdates")) >= 4


@pytest.mark.parametrize("kind", ["500", "502", "429", "slow"])
def test_a_reply_that_fails_is_sent_again(fake, ivan, kind):
    fake.fail("sendMessage", kind, times=1)
    ivan.says("/help")

    run_bot()

    assert delivered(fake, ivan, "/status — прочитать наши ответы")


def test_an_unreachable_api_stops_a_drain_with_a_clear_error_and_loses_nothing(fake, ivan):
    ivan.says("/start")
    fake.go_down()

    with pytest.raises(CommandError, match="the Bot API did not answer getMe"):
        run_bot()

    fake.come_back()
    run_bot()
    assert delivered(fake, ivan, "Вопрос 1 из 8")


@pytest.mark.django_db(transaction=True)  # the bot runs in a thread of its own here
def test_the_bot_waits_for_the_api_to_come_back(fake, ivan, monkeypatch):
    monkeypatch.setattr(runner, "DRAIN_ATTEMPTS", 500)
    ivan.says("/start")
    fake.go_down()
    bot = threading.Thread(target=run_bot)
    bot.start()
    bot.join(timeout=0.5)
    assert bot.is_alive(), "still retrying while the API is down"

    fake.come_back()
    bot.join(timeout=30)

    assert not bot.is_alive()
    assert delivered(fake, ivan, "Вопрос 1 из 8")


def test_a_receipt_that_cannot_be_delivered_comes_with_the_next_message(fake, ivan):
    answer_everything(ivan)
    fake.fail("sendMessage", "500", times=SEND_ATTEMPTS)
    ivan.presses("sum:send")
    run_bot()
    stored = HelpRequest.objects.get()
    assert not delivered(fake, ivan, "Код вашей заявки")

    ivan.says("/start")
    run_bot()

    again = fake.sent_to(ivan)[-3]
    assert again.startswith("Ваша последняя заявка сохранена, но код мог до вас не дойти.")
    assert find_by_receipt(receipt_in(again)) == stored
    ivan.says("/help")
    run_bot()
    assert sum("код мог до вас не дойти" in text for text in fake.sent_to(ivan)) == 1


def test_a_redelivered_update_is_not_handled_twice(fake, ivan):
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        ivan.presses(data)
    ivan.says(NARRATIVE)
    ivan.presses("nar:done")
    ivan.presses("fil:done")
    contact = ivan.says(CONTACT)
    run_bot()

    # As if the bot had stopped before Telegram heard the update was handled:
    # the contact must not become the answer to the next question too.
    fake.redeliver(contact)
    ivan.presses("ali:skip")
    send = ivan.presses("sum:send")
    run_bot()
    fake.redeliver(send)
    run_bot()

    stored = HelpRequest.objects.get()
    assert opened(stored, "contact", "alias") == {"contact": CONTACT, "alias": ""}
    assert sum("Код вашей заявки" in text for text in fake.sent_to(ivan)) == 1


def test_every_receipt_shown_opens_a_stored_request(fake, ivan, olga):
    fake.fail("sendMessage", "slow", times=2)
    codes = [submit_through_bot(ivan), submit_through_bot(olga), submit_through_bot(ivan)]

    shown = {
        receipt_in(text)
        for text in fake.sent_to(ivan) + fake.sent_to(olga)
        if "Код вашей заявки:" in text
    }
    assert shown == set(codes)
    assert {find_by_receipt(code).pk for code in shown} == set(
        HelpRequest.objects.values_list("pk", flat=True)
    )


def test_a_failed_submission_says_so_and_keeps_the_answers_for_a_retry(fake, ivan):
    answer_everything(ivan)
    table = connection.ops.quote_name("cases_caseevent")
    away = connection.ops.quote_name("cases_caseevent_away")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {away}")
    try:
        ivan.presses("sum:send")
        run_bot()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {away} RENAME TO {table}")

    failure = fake.sent_to(ivan)[-1]
    assert failure.startswith("Заявку не удалось отправить из-за проблемы на нашей стороне.")
    assert not HelpRequest.objects.exists()
    assert fake.buttons_of_last(ivan)[0] == "sum:send"

    ivan.presses("sum:send")
    run_bot()

    code = receipt_in(fake.sent_to(ivan)[-1])
    assert find_by_receipt(code) == HelpRequest.objects.get()


def test_a_refused_token_stops_the_bot_with_a_clear_error(fake, settings):
    settings.TELEGRAM_BOT_TOKEN = "7000000001:SomeoneElsesTokenNotThisBotsXXXXXXX"

    with pytest.raises(CommandError, match="Telegram refused the token: check TELEGRAM_BOT_TOKEN"):
        run_bot()


@pytest.mark.django_db(transaction=True)  # the bot runs in a thread of its own here
def test_a_running_bot_stops_when_told_and_confirms_what_it_handled(fake, ivan, monkeypatch):
    monkeypatch.setattr(runner, "POLL_TIMEOUT", 1)
    bot = BotRunner(TOKEN, fake.url, request_timeout=2)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(bot.run(),))
    thread.start()
    try:
        ivan.says("/start")
        assert wait_for(lambda: delivered(fake, ivan, "Вопрос 1 из 8"))
        fake.go_down()  # a moment without the API: the bot retries
        fake.come_back()
        ivan.presses("cat:desertion")
        assert wait_for(lambda: delivered(fake, ivan, "Вопрос 2 из 8"))
    finally:
        bot.request_stop()
        thread.join(timeout=30)
        loop.close()

    assert not thread.is_alive()
    assert fake.pending == []


def wait_for(condition, seconds: float = 20.0) -> bool:
    from tests.conftest import wait_for as wait

    return wait(condition, seconds)
