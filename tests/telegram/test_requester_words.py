"""The bot in the words of issue 23: Cyrillic codes, one text per limit, plain errors."""

import re

import pytest

from intake.models import HelpRequest
from tests.conftest import remember_sensitive
from tests.telegram.helpers import answer_everything, run_bot, submit_through_bot
from tests.test_requester_words import CASE_WORD, cyrillic, django_defaults

pytestmark = pytest.mark.django_db


def test_a_code_typed_with_cyrillic_lookalikes_opens_its_request(fake, ivan):
    code = submit_through_bot(ivan)
    while cyrillic(code) == code:  # one code in ~4,500 has no look-alike
        code = submit_through_bot(ivan)

    ivan.says("/status")
    ivan.says(cyrillic(code).lower())
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Заявка получена.")
    assert fake.buttons_of_last(ivan) == ["st:write", "st:done"]


def test_a_wrong_code_in_cyrillic_gets_the_one_uniform_answer(fake, ivan):
    code = submit_through_bot(ivan)
    wrong = cyrillic(code[:-1] + ("Z" if code[-1] != "Z" else "Y"))

    ivan.says("/status")
    ivan.says(wrong)
    ivan.says("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    run_bot()

    first, second = fake.sent_to(ivan)[-2:]
    assert first == second
    assert "только латинские буквы и цифры" in first


def test_past_the_overall_ceiling_the_bot_does_not_blame_the_person(fake, ivan, olga, settings):
    settings.INTAKE_RATE_LIMIT = "10/h"
    settings.INTAKE_GLOBAL_LIMIT = "1/h"
    submit_through_bot(olga)
    answer_everything(ivan)

    ivan.presses("sum:send")
    run_bot()

    said = fake.sent_to(ivan)[-1]
    assert said.startswith("Сейчас приходит очень много заявок, поэтому ваша пока не отправлена.")
    assert "Вы отправили" not in said
    assert HelpRequest.objects.count() == 1


def test_past_the_overall_lookup_ceiling_the_bot_says_so(fake, ivan, olga, settings):
    settings.STATUS_GLOBAL_LIMIT = "2/h"
    olga.says("/status")
    olga.says("AAAA-BBBB-CCCC-DDDD-EEE0")
    olga.says("AAAA-BBBB-CCCC-DDDD-EEE1")
    run_bot()

    ivan.says("/status AAAA-BBBB-CCCC-DDDD-EEE2")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Сейчас в сервисе проверяют очень много кодов.")


@pytest.mark.parametrize(
    ("step_answer", "expected"),
    [
        (("contact", "@" + "x" * 200), "Это не сохранено. Текст слишком длинный"),
        (("contact", "@ivan\x00drop"), "Это не сохранено. В тексте есть знаки"),
        (("alias", "Я" * 101), "Это не сохранено. Текст слишком длинный"),
    ],
)
def test_no_django_default_message_reaches_the_chat(fake, ivan, step_answer, expected):
    step, answer = step_answer
    remember_sensitive(answer)
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        ivan.presses(data)
    ivan.says("Ситуация.")
    ivan.presses("nar:done")
    ivan.presses("fil:done")
    if step == "alias":
        ivan.presses("con:skip")
    ivan.says(answer)
    run_bot()

    said = fake.sent_to(ivan)[-1]
    assert said.startswith(expected)
    for default in django_defaults():
        assert default not in said
    # No capital letter after a colon: the reason is a sentence of its own.
    assert not re.search(r": [А-ЯЁ]", said.split(". ", 1)[1])


def test_service_status_buttons_fit_telegram(fake, ivan):
    ivan.says("/start")
    ivan.presses("cat:desertion")
    run_bot()

    question = fake.calls_of("sendMessage")[-1]
    labels = [
        button["text"] for row in question["reply_markup"]["inline_keyboard"] for button in row
    ]
    assert labels[0] == "Срочник" and len(labels) == 7
    assert all(len(label) <= 35 for label in labels), labels
    assert "в колонии или после мобилизации" in question["text"]


def test_someone_in_danger_right_now_gets_the_organisations_line(fake, ivan, settings):
    settings.URGENT_HELP_TEXT = "Мы отвечаем в течение двух часов."
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line"):
        ivan.presses(data)
    ivan.presses("urg:critical")
    ivan.presses("art:done")
    ivan.says("Меня ищут.")
    for data in ("nar:done", "fil:done", "con:skip", "ali:skip", "sum:send"):
        ivan.presses(data)
    run_bot()

    questions = [text for text in fake.sent_to(ivan) if text.startswith("Вопрос 4 из 8")]
    assert settings.URGENT_HELP_TEXT in questions[0]
    assert fake.sent_to(ivan)[-1].endswith(settings.URGENT_HELP_TEXT)


def test_nothing_the_bot_says_calls_a_request_a_case():
    from django.utils import translation

    from intake.forms import RequestForm
    from telegram_bot import texts

    with translation.override("ru"):
        said = [str(v) for k, v in vars(texts).items() if k.isupper() and not isinstance(v, dict)]
        said += [str(v) for v in texts.STATE_WORDS.values()]
        for field in RequestForm.base_fields.values():
            said += [str(field.label), str(field.help_text)]
            said += [str(label) for _value, label in getattr(field, "choices", [])]

    assert [text for text in said if CASE_WORD.search(text)] == []
