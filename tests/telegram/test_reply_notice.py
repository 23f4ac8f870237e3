"""
The opt-in reply notice: a requester who asks, at the end of the bot's
dialogue, is told in their chat when a caseworker answers. Their chat id is
sealed to the organisation with the request, so only a caseworker's reply
opens it; it is nowhere in clear, nor under the server's own keys, nor in a
log or a task; a failed notice is said on the page and can be sent again.
"""

import logging
import socket

import pytest
from django.apps import apps

from encryption.fields import Sealed
from intake.models import HelpRequest
from tests.staffing import confirmed_post, sign_in
from tests.telegram.helpers import answer_everything, run_bot
from tests.telegram.test_no_identity import database_cells, holds, identities

pytestmark = pytest.mark.django_db

NOTICE_RU = "На вашу заявку есть ответ. Отправьте /status, чтобы его прочитать."
NOTICE_EN = "There is an answer to your request. Send /status to read it."


def send_asking_for_notice(person, *, notify=True) -> HelpRequest:
    answer_everything(person)
    if notify:
        person.presses("sum:notify")
    person.presses("sum:send")
    run_bot()
    return HelpRequest.objects.get()


def reply(client, help_request, body="Мы получили вашу заявку.", **extra):
    return client.post(
        f"/staff/cases/{help_request.reference}/reply/", {"body": body, **extra}, follow=True
    )


def server_readable_cells():
    """Every stored value as the server alone reads it: each column of each
    model through the ORM, so the at-rest layer is opened with the server's
    key (a sealed value stays sealed: only a caseworker's key opens it)."""
    for model in apps.get_models():
        for row in model._base_manager.all().values_list():
            for value in row:
                yield model._meta.label, value


def test_the_summary_asks_with_a_safety_note_and_the_answer_defaults_to_no(fake, ivan):
    answer_everything(ivan)

    summary = fake.sent_to(ivan)[-1]
    assert "Сообщить вам здесь, когда консультант ответит?\n✓ Нет" in summary
    assert "кто ещё может увидеть ваш телефон" in summary
    assert "sum:notify" in fake.buttons_of_last(ivan)


def test_a_reply_tells_the_chat_that_asked_in_its_language(fake, ivan, client, alice):
    help_request = send_asking_for_notice(ivan)
    assert isinstance(help_request.reply_chat, Sealed)
    sign_in(client, alice)

    page = reply(client, help_request).content.decode()

    assert fake.sent_to(ivan)[-1] == NOTICE_RU
    assert "The requester was told in Telegram that there is an answer." in page


def test_an_english_chat_is_told_in_english(fake, olga, client, alice):
    olga.says("/lang")
    olga.presses("lang:en")
    help_request = send_asking_for_notice(olga)
    sign_in(client, alice)

    reply(client, help_request)

    assert fake.sent_to(olga)[-1] == NOTICE_EN


def test_nothing_is_kept_or_sent_for_a_requester_who_did_not_ask(fake, ivan, client, alice):
    help_request = send_asking_for_notice(ivan, notify=False)
    sent_before = len(fake.sent_to(ivan))
    sign_in(client, alice)

    reply(client, help_request)

    assert help_request.reply_chat in ("", None)
    assert len(fake.sent_to(ivan)) == sent_before


def test_send_and_set_waiting_tells_the_chat_too(fake, ivan, client, alice):
    help_request = send_asking_for_notice(ivan)
    case = help_request.case
    case.state = "in_progress"
    case.save()
    sign_in(client, alice)

    path = f"/staff/cases/{help_request.reference}/reply/"
    confirmed_post(client, path, {"body": "Ждём.", "then": "waiting"})

    assert fake.sent_to(ivan)[-1] == NOTICE_RU


@pytest.mark.django_db(transaction=True)  # committed, as the server holds it
def test_the_chat_id_is_nowhere_the_server_could_read_it(fake, ivan, client, alice, caplog):
    caplog.set_level(logging.DEBUG)
    help_request = send_asking_for_notice(ivan)
    sign_in(client, alice)
    reply(client, help_request)
    assert fake.sent_to(ivan)[-1] == NOTICE_RU

    needles = identities(ivan)
    raw = [(table, n) for table, value in database_cells() for n in needles if holds(value, n)]
    readable = [
        (model, n) for model, value in server_readable_cells() for n in needles if holds(value, n)
    ]
    assert raw == [] and readable == []
    assert str(ivan.chat_id) not in caplog.text


def test_the_scan_would_see_a_value_under_the_servers_key(fake, ivan):
    # A planted fault: the chat id kept under the at-rest key alone.
    from encryption.models import ServerSecret

    ServerSecret.objects.create(name="planted", value=str(ivan.chat_id))

    assert [m for m, v in server_readable_cells() if holds(v, str(ivan.chat_id))]
    assert not [t for t, v in database_cells() if holds(v, str(ivan.chat_id))]


def test_a_failed_notice_is_said_and_can_be_sent_again(fake, ivan, client, alice, caplog):
    help_request = send_asking_for_notice(ivan)
    sign_in(client, alice)
    fake.fail("sendMessage", "500")

    page = reply(client, help_request).content.decode()

    assert "could not be told in Telegram" in page
    assert "Try the reply notice again" in page
    assert fake.sent_to(ivan)[-1] != NOTICE_RU
    assert "reply notice: sendMessage refused (HTTP 500)" in caplog.text

    again = client.post(
        f"/staff/cases/{help_request.reference}/reply-notice/", follow=True
    ).content.decode()

    assert fake.sent_to(ivan)[-1] == NOTICE_RU
    assert "Try the reply notice again" not in again


def test_there_is_nothing_to_send_again_without_a_failure(fake, ivan, client, alice):
    help_request = send_asking_for_notice(ivan)
    sign_in(client, alice)
    sent_before = len(fake.sent_to(ivan))

    page = client.post(f"/staff/cases/{help_request.reference}/reply-notice/", follow=True)

    assert "There is no failed reply notice" in page.content.decode()
    assert len(fake.sent_to(ivan)) == sent_before


def test_a_session_without_the_organisation_key_cannot_send_it(fake, ivan, client):
    from tests.staffing import make_staff

    newcomer = make_staff("nina", "caseworker", with_access=False)
    help_request = send_asking_for_notice(ivan)
    sent_before = len(fake.sent_to(ivan))
    sign_in(client, newcomer)

    response = client.post(f"/staff/cases/{help_request.reference}/reply-notice/")
    reply(client, help_request)

    assert response.status_code == 403
    assert len(fake.sent_to(ivan)) == sent_before


def test_an_unreachable_bot_api_is_said_and_the_reply_is_kept(
    fake, ivan, client, alice, caplog, settings
):
    help_request = send_asking_for_notice(ivan)
    sign_in(client, alice)
    with socket.socket() as closed:  # a port nobody listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.TELEGRAM_API_URL = f"http://127.0.0.1:{port}"

    response = reply(client, help_request, body="Ответ дошёл.")

    assert response.status_code == 200
    assert "could not be told in Telegram" in response.content.decode()
    assert "reply notice: sendMessage failed (URLError)" in caplog.text
    assert help_request.messages.count() == 1


def test_without_a_bot_token_the_notice_is_said_to_have_failed(
    fake, ivan, client, alice, caplog, settings
):
    help_request = send_asking_for_notice(ivan)
    sign_in(client, alice)
    sent_before = len(fake.sent_to(ivan))
    settings.TELEGRAM_BOT_TOKEN = ""

    page = reply(client, help_request).content.decode()

    assert "could not be told in Telegram" in page
    assert "reply notice: no TELEGRAM_BOT_TOKEN is set" in caplog.text
    assert len(fake.sent_to(ivan)) == sent_before


def test_a_bot_api_address_that_is_not_http_is_never_opened(settings, tmp_path):
    """The notice opens only an http(s) Bot API: a file: address (a slip, or a
    setting changed to read the server's files) sends nothing and says so."""
    from telegram_bot.notice import send_reply_notice

    planted = tmp_path / "botTOKEN" / "sendMessage"
    planted.parent.mkdir()
    planted.write_text('{"ok": true}')
    settings.TELEGRAM_BOT_TOKEN = "TOKEN"
    settings.TELEGRAM_API_URL = f"file://{tmp_path}"

    assert send_reply_notice(123456, "ru") is False
