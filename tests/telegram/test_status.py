"""Following up through the bot: /status and the receipt code, the thread, a message."""

import pickle

import pytest

from cases.services import reply_to_requester
from encryption.chats import open_for_chat
from intake.models import HelpRequest, RequestMessage
from tests.conftest import remember_sensitive
from tests.content_keys import opened
from tests.telegram.helpers import cache_entries, run_bot, submit_through_bot

pytestmark = pytest.mark.django_db

REPLY = "Мы получили вашу заявку. Напишите, когда будете в безопасном месте."
ANSWER = "Я уже в безопасности, пишите сюда."


def test_status_shows_a_caseworkers_reply_and_takes_a_message(fake, ivan, alice):
    code = submit_through_bot(ivan)
    help_request = HelpRequest.objects.get()
    reply_to_requester(help_request.case, REPLY, author=alice.user)
    remember_sensitive(ANSWER)

    ivan.says("/status")
    run_bot()
    assert fake.sent_to(ivan)[-1] == "Отправьте код заявки: двадцать латинских букв и цифр."
    ivan.says(code)
    run_bot()

    thread = fake.sent_to(ivan)[-1]
    assert thread.startswith("Заявка получена. Скоро её прочитает консультант.")
    assert "Консультант · " in thread and REPLY in thread
    assert fake.buttons_of_last(ivan) == ["st:write", "st:done"]

    ivan.presses("st:write")
    ivan.says(ANSWER)
    run_bot()
    assert fake.sent_to(ivan)[-1].startswith("Чтобы отправить его, пришлите код квитанции")
    ivan.says(code)
    run_bot()

    assert fake.sent_to(ivan)[-1] == "Ваше сообщение отправлено."
    message = RequestMessage.objects.get(sender="requester")
    assert message.request == help_request
    assert opened(message, "body")["body"] == ANSWER
    help_request.case.refresh_from_db()
    assert help_request.case.unread_message_at is not None


def test_the_code_can_follow_the_command(fake, ivan):
    code = submit_through_bot(ivan)

    ivan.says(f"/status {code.lower()}")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Заявка получена.")
    assert "Сообщений пока нет." in fake.sent_to(ivan)[-1]


def test_the_thread_shows_the_requesters_own_messages_too(fake, ivan, alice):
    code = submit_through_bot(ivan)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.says(ANSWER)
    ivan.says(code)
    run_bot()
    remember_sensitive(ANSWER)
    reply_to_requester(HelpRequest.objects.get().case, REPLY, author=alice.user)

    ivan.says(f"/status {code}")
    run_bot()

    thread = fake.sent_to(ivan)[-1]
    assert thread.index(ANSWER) < thread.index(REPLY)
    assert "Вы · " in thread


def test_a_wrong_code_gets_the_same_answer_whatever_is_wrong(fake, ivan):
    code = submit_through_bot(ivan)
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")

    ivan.says("/status")
    for typed in (wrong, "not a code at all", "X" * 300):
        ivan.says(typed)
    run_bot()

    not_found = (
        "Заявки с таким кодом нет. Проверьте код знак за знаком: в нём только латинские "
        "буквы и цифры."
    )
    assert fake.sent_to(ivan)[-3:] == [not_found] * 3


def test_lookups_are_limited_per_chat(fake, ivan, settings):
    settings.STATUS_RATE_LIMIT = "3/h"
    ivan.says("/status")
    for attempt in range(4):
        ivan.says(f"AAAA-BBBB-CCCC-DDDD-EEE{attempt}")
    run_bot()

    assert (
        fake.sent_to(ivan)[-1]
        == "Вы ввели много кодов за короткое время. Подождите час и попробуйте снова."
    )


def test_done_forgets_the_code(fake, ivan):
    code = submit_through_bot(ivan)
    ivan.says(f"/status {code}")
    ivan.presses("st:done")
    run_bot()
    assert fake.sent_to(ivan)[-1] == "Готово. Для вашей безопасности теперь удалите этот чат."

    ivan.says("Ещё одно сообщение")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Чтобы попросить помощи, отправьте /start.")
    assert not RequestMessage.objects.exists()


def test_a_message_can_be_abandoned(fake, ivan):
    code = submit_through_bot(ivan)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.presses("msg:cancel")
    ivan.says("это не сообщение консультанту")
    run_bot()

    assert fake.sent_to(ivan)[-1] == "Пожалуйста, выберите одну из кнопок."
    assert not RequestMessage.objects.exists()


# --- the code is not kept (third security review, item 7) ----------------------------------


def read_by_the_server_holder(chat_id: int) -> list[bytes]:
    """
    Every cache entry as someone holding Redis, ENCRYPTION_KEY and a suspect's
    Telegram id reads it: raw, unpickled, and opened with that chat's key.
    """
    readings = []
    for _key, raw, _ttl in cache_entries():
        readings.append(raw)
        if not raw.startswith(b"\x80"):
            continue  # not pickled (Redis keeps counters as plain numbers)
        value = pickle.loads(raw)  # noqa: S301 - the test's own cache, read as an attacker would
        if isinstance(value, bytes):
            readings.append(open_for_chat(chat_id, value) or b"")
        else:
            readings.append(repr(value).encode())
    return readings


def holds_code(readings: list[bytes], code: str) -> bool:
    compact = code.replace("-", "")
    forms = {code, compact, code.lower(), compact.lower(), compact[4:]}
    return any(form.encode() in reading for reading in readings for form in forms)


def test_the_bot_forgets_the_code_once_the_thread_is_shown(fake, ivan, alice):
    code = submit_through_bot(ivan)
    reply_to_requester(HelpRequest.objects.get().case, REPLY, author=alice.user)

    ivan.says(f"/status {code}")
    run_bot()

    assert REPLY in fake.sent_to(ivan)[-1]
    readings = read_by_the_server_holder(ivan.chat_id)
    assert any(b'"step": "thread"' in reading for reading in readings), "the dialogue was read"
    assert not holds_code(readings, code)


def test_writing_a_message_asks_for_the_code_again_and_keeps_it_no_longer(fake, ivan):
    code = submit_through_bot(ivan)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.says(ANSWER)
    run_bot()

    assert fake.sent_to(ivan)[-1] == (
        "Чтобы отправить его, пришлите код квитанции ещё раз. Бот забывает код сразу после ответа."
    )
    assert fake.buttons_of_last(ivan) == ["msg:cancel"]
    assert not RequestMessage.objects.exists()
    assert not holds_code(read_by_the_server_holder(ivan.chat_id), code)

    ivan.says(code[:-1] + ("A" if code[-1] != "A" else "B"))  # mistyped: the message waits
    run_bot()
    assert fake.sent_to(ivan)[-1].startswith("Заявки с таким кодом нет.")
    assert not RequestMessage.objects.exists()

    ivan.says(code)
    run_bot()

    assert fake.sent_to(ivan)[-1] == "Ваше сообщение отправлено."
    assert opened(RequestMessage.objects.get(), "body")["body"] == ANSWER
    readings = read_by_the_server_holder(ivan.chat_id)
    assert not holds_code(readings, code)
    assert not any(ANSWER.encode() in reading for reading in readings)
