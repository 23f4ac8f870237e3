"""A request through the bot, in Russian first: questions, summary, receipt; /lang, cancel."""

import pytest

from intake.models import HelpRequest
from intake.services import find_by_receipt
from tests.content_keys import opened
from tests.telegram.helpers import (
    CONTACT,
    NARRATIVE,
    answer_everything,
    receipt_in,
    run_bot,
    submit_through_bot,
)

pytestmark = pytest.mark.django_db


def test_start_explains_what_is_kept_and_how_to_stay_safe_in_russian(fake, ivan):
    ivan.says("/start")
    run_bot()

    intro, first_question = fake.sent_to(ivan)
    assert "О вашем аккаунте Telegram ничего не хранится" in intro
    assert "удалите этот чат" in intro
    assert "со второго аккаунта Telegram" in intro
    assert first_question.startswith("Вопрос 1 из 8\nС чем вам нужна помощь?")
    assert fake.buttons_of_last(ivan) == [
        "cat:desertion",
        "cat:border_crossing",
        "cat:consultation",
    ]


def test_a_full_dialogue_in_russian_stores_the_request_and_answers_with_its_receipt(fake, ivan):
    answer_everything(ivan, alias="Ваня")
    summary = fake.sent_to(ivan)[-1]
    assert summary.startswith("Проверьте заявку перед отправкой:")
    assert "Хочу уйти из части (СОЧ, дезертирство)" in summary
    assert "Статья 338: дезертирство" in summary
    assert CONTACT in summary and NARRATIVE in summary

    ivan.presses("sum:send")
    run_bot()

    receipt = fake.sent_to(ivan)[-1]
    assert receipt.startswith("Ваша заявка передана нашим консультантам. Код вашей заявки:")
    stored = HelpRequest.objects.get()
    assert find_by_receipt(receipt_in(receipt)) == stored
    assert (stored.channel, stored.category, stored.service_status) == (
        "telegram",
        "desertion",
        "mobilised",
    )
    assert (stored.location, stored.urgency, stored.legal_articles) == (
        "front_line",
        "high",
        ["338"],
    )
    assert opened(stored, "narrative", "contact", "alias") == {
        "narrative": NARRATIVE,
        "contact": CONTACT,
        "alias": "Ваня",
    }
    assert stored.language == "ru"
    assert stored.case.state == "new"
    # The summary loses its buttons and says it was sent.
    assert fake.edits_in(ivan)[-1].endswith("✓ Отправлено.")


def test_each_answered_question_shows_the_answer_and_loses_its_buttons(fake, ivan):
    ivan.says("/start")
    run_bot()
    ivan.presses("cat:border_crossing")
    run_bot()

    assert fake.edits_in(ivan) == [
        "Вопрос 1 из 8\nС чем вам нужна помощь?\n\n✓ Нужно уехать из страны или перейти границу"
    ]
    assert fake.calls_of("editMessageText")[-1].get("reply_markup") is None
    assert fake.sent_to(ivan)[-1].startswith("Вопрос 2 из 8\nВаша служба")


def test_charges_are_ticked_and_unticked_on_the_same_message(fake, ivan):
    ivan.says("/start")
    for data in ("cat:desertion", "svc:conscript", "loc:abroad", "urg:low", "art:337"):
        ivan.presses(data)
    ivan.presses("art:332")
    ivan.presses("art:337")
    run_bot()

    labels = [
        button["text"]
        for row in fake.calls_of("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    assert "✓ Статья 332: неисполнение приказа" in labels
    assert "Статья 337: самовольное оставление части" in labels


def test_the_situation_can_come_in_several_messages(fake, ivan):
    answer_everything(ivan, narrative="Первая часть.")
    ivan.presses("sum:restart")
    run_bot()
    for data in ("cat:consultation", "svc:civilian", "loc:home_country", "urg:normal", "art:done"):
        ivan.presses(data)
    ivan.says("Мне пришла повестка.")
    ivan.says("Что делать?")
    for data in ("nar:done", "fil:done", "con:skip", "ali:skip", "sum:send"):
        ivan.presses(data)
    run_bot()

    stored = HelpRequest.objects.get()
    assert opened(stored, "narrative", "contact") == {
        "narrative": "Мне пришла повестка.\n\nЧто делать?",
        "contact": "",
    }
    assert (stored.category, stored.legal_articles) == ("consultation", [])


def test_lang_switches_to_english_and_back(fake, ivan):
    ivan.says("/lang")
    run_bot()
    assert fake.buttons_of_last(ivan) == ["lang:ru", "lang:en"]
    ivan.presses("lang:en")
    run_bot()
    assert fake.sent_to(ivan)[-2] == "From now on I write in English."

    ivan.says("/start")
    run_bot()
    assert fake.sent_to(ivan)[-1].startswith("Question 1 of 8\nWhat do you need help with?")

    ivan.says("/lang")
    ivan.presses("lang:ru")
    run_bot()
    # The question in hand is asked again in the new language.
    assert fake.sent_to(ivan)[-2:] == [
        "Дальше я пишу по-русски.",
        "Вопрос 1 из 8\nС чем вам нужна помощь?",
    ]


def test_a_request_sent_in_english_is_stored_as_english(fake, ivan):
    ivan.says("/lang")
    ivan.presses("lang:en")
    code = submit_through_bot(ivan)

    assert fake.sent_to(ivan)[-1].startswith("Your request has been passed on")
    assert find_by_receipt(code).language == "en"


def test_cancel_deletes_the_answers_and_sends_nothing(fake, ivan):
    answer_everything(ivan)

    ivan.says("/cancel")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Остановлено. Ваши ответы удалены")
    assert not HelpRequest.objects.exists()
    ivan.presses("sum:send")  # the summary's button, pressed after all
    run_bot()
    assert not HelpRequest.objects.exists()
    assert fake.sent_to(ivan)[-1].startswith("Прошло больше 30 минут, и ваши ответы удалены.")


def test_the_summary_can_cancel_too(fake, ivan):
    answer_everything(ivan)

    ivan.presses("sum:cancel")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Остановлено.")
    assert not HelpRequest.objects.exists()


def test_a_button_of_an_earlier_question_does_nothing(fake, ivan):
    ivan.says("/start")
    run_bot()
    first = fake.message_with_button(ivan, "cat:consultation")
    ivan.presses("cat:desertion")
    run_bot()

    ivan.presses_on(first, "cat:consultation")
    ivan.presses("svc:mobilised")
    run_bot()

    assert fake.calls_of("answerCallbackQuery")[-2]["text"] == "Эта кнопка больше не действует."
    assert fake.sent_to(ivan)[-1].startswith("Вопрос 3 из 8")


def test_two_people_at_once_keep_their_own_answers(fake, ivan, olga):
    ivan.says("/start")
    olga.says("/start")
    ivan.presses("cat:desertion")
    olga.presses("cat:consultation")
    run_bot()

    assert fake.edits_in(ivan)[-1].endswith("(СОЧ, дезертирство)")
    assert fake.edits_in(olga)[-1].endswith("расторжение контракта, повестка")
