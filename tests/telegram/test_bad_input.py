"""Whatever a person (or someone posing as one) sends, the bot answers clearly and keeps going."""

import pytest

from intake.models import HelpRequest, RequestMessage
from tests.conftest import remember_sensitive
from tests.content_keys import opened
from tests.telegram.helpers import answer_everything, cache_entries, run_bot, submit_through_bot

pytestmark = pytest.mark.django_db

NOT_TEXT = "Я читаю только текст, фотографии и документы PDF."
FILES_LATER = "Фотографии и документы принимаются после описания ситуации"


@pytest.mark.parametrize("kind", ["sticker", "voice", "location"])
def test_anything_but_text_is_refused_with_a_warning_and_the_question_again(fake, ivan, kind):
    ivan.says("/start")
    ivan.sends(kind)
    run_bot()

    warning, question = fake.sent_to(ivan)[-2:]
    assert warning.startswith(NOT_TEXT) and "геопозицию" in warning
    assert question.startswith("Вопрос 1 из 8")


@pytest.mark.parametrize("kind", ["photo", "document"])
def test_a_file_before_its_step_is_not_kept_and_the_question_comes_again(fake, ivan, kind):
    ivan.says("/start")
    ivan.sends(kind)
    run_bot()

    warning, question = fake.sent_to(ivan)[-2:]
    assert warning.startswith(FILES_LATER)
    assert question.startswith("Вопрос 1 из 8")
    assert fake.calls_of("getFile") == [] and fake.downloads == []


def test_a_photo_while_the_situation_is_asked_adds_nothing(fake, ivan):
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        ivan.presses(data)
    ivan.sends("photo")
    ivan.says("Только текст.")
    for data in ("nar:done", "fil:done", "con:skip", "ali:skip", "sum:send"):
        ivan.presses(data)
    run_bot()

    assert any(text.startswith(FILES_LATER) for text in fake.sent_to(ivan))
    assert opened(HelpRequest.objects.get(), "narrative")["narrative"] == "Только текст."
    assert fake.downloads == []


def test_text_where_a_button_is_expected_asks_for_the_button(fake, ivan):
    ivan.says("/start")
    ivan.says("дезертирство")
    run_bot()

    assert fake.sent_to(ivan)[-2:] == [
        "Пожалуйста, выберите одну из кнопок.",
        "Вопрос 1 из 8\nС чем вам нужна помощь?",
    ]


def test_a_situation_longer_than_the_form_allows_is_refused_part_by_part(fake, ivan):
    parts = ["а" * 4000, "б" * 4000, "в" * 4000]
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        ivan.presses(data)
    for part in parts:
        ivan.says(part)
    for data in ("nar:done", "fil:done", "con:skip", "ali:skip", "sum:send"):
        ivan.presses(data)
    run_bot()

    # Two sentences, each with its capital; the second says what to do.
    refusal = (
        "Эта часть не добавлена. Текст слишком длинный: можно не больше 10000 знаков, "
        "а в нём 12004. Сократите его."
    )
    assert any(text.startswith(refusal) for text in fake.sent_to(ivan))
    stored = opened(HelpRequest.objects.get(), "narrative")
    assert stored["narrative"] == f"{parts[0]}\n\n{parts[1]}"


@pytest.mark.parametrize(
    ("contact", "error"),
    [
        ("@" + "x" * 200, "Это не сохранено. Текст слишком длинный: можно не больше 200 знаков"),
        ("@ivan\x00drop", "Это не сохранено. В тексте есть знаки, которые нельзя сохранить"),
    ],
)
def test_a_contact_the_form_would_refuse_is_refused(fake, ivan, contact, error):
    remember_sensitive(contact)
    ivan.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        ivan.presses(data)
    ivan.says("Ситуация.")
    ivan.presses("nar:done")
    ivan.presses("fil:done")
    ivan.says(contact)
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith(error)
    assert error in fake.sent_to(ivan)[-1]
    ivan.says("@short_handle")
    ivan.presses("ali:skip")
    ivan.presses("sum:send")
    run_bot()
    assert opened(HelpRequest.objects.get(), "contact")["contact"] == "@short_handle"


def test_a_message_longer_than_the_status_page_allows_is_refused(fake, ivan):
    code = submit_through_bot(ivan)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.says("ж" * 5001)
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith(
        "Это не сохранено. Сообщение слишком длинное: можно не больше 5000 знаков, а в нём 5001."
    )
    assert not RequestMessage.objects.exists()


@pytest.mark.parametrize("command", ["/foo", "/start_over", "/admin@tropa_test_bot", "/"])
def test_unknown_commands_get_the_list_of_commands(fake, ivan, command):
    ivan.says(command)
    run_bot()

    answer = fake.sent_to(ivan)[-1]
    assert answer.startswith("Я не знаю такой команды.")
    assert "/status" in answer and "/cancel" in answer


def test_text_with_nothing_in_progress_points_to_the_commands(fake, ivan):
    ivan.says("помогите")
    run_bot()

    assert fake.sent_to(ivan) == [
        "Чтобы попросить помощи, отправьте /start. Чтобы прочитать наши ответы, отправьте /status."
    ]


def test_forged_button_data_changes_nothing(fake, ivan):
    forged = ["svc:general", "cat:", "zzz:1", "", "art:999", "sum:delete", "lang:de", "st:write"]
    answer_everything(ivan)
    summary_message = fake.message_with_button(ivan, "sum:send")

    for data in forged:
        ivan.presses_on(summary_message, data)
    ivan.presses("sum:send")
    run_bot()

    answers = [call.get("text") for call in fake.calls_of("answerCallbackQuery")]
    assert answers[-len(forged) - 1 : -1] == ["Эта кнопка больше не действует."] * len(forged)
    stored = HelpRequest.objects.get()
    assert (stored.category, stored.service_status, stored.legal_articles) == (
        "desertion",
        "mobilised",
        ["338"],
    )


def test_a_flood_gets_one_warning_then_silence(fake, ivan, settings):
    settings.TELEGRAM_FLOOD_LIMIT = "5/m"
    for n in range(9):
        ivan.says(f"сообщение {n}")
    run_bot()

    answers = fake.sent_to(ivan)
    assert len(answers) == 6
    assert answers[-1] == "Вы отправляете сообщения очень быстро. Подождите минуту и продолжайте."
    assert fake.pending == []  # every update was still acknowledged


def test_in_a_group_the_bot_only_says_it_works_in_private_and_keeps_nothing(fake):
    group = fake.person(-1009988776655, "somebody_in_group", "Group Member-Test", "supergroup")
    remember_sensitive(-1009988776655, "somebody_in_group", "Group Member-Test")

    group.says("/start")
    group.says("я хочу дезертировать, вот мой номер части")
    run_bot()

    assert fake.calls_of("sendMessage") == [
        {"chat_id": "-1009988776655", "text": fake.sent_to(group)[0]}
    ]
    assert fake.sent_to(group)[0].startswith("Я работаю только в личном чате.")
    assert cache_entries() == []


def test_sending_too_many_requests_keeps_the_answers_for_later(fake, ivan, settings):
    settings.INTAKE_RATE_LIMIT = "1/h"
    submit_through_bot(ivan)
    answer_everything(ivan)

    ivan.presses("sum:send")
    run_bot()

    assert fake.sent_to(ivan)[-1].startswith("Вы отправили несколько заявок за короткое время.")
    assert HelpRequest.objects.count() == 1
    settings.INTAKE_RATE_LIMIT = "10/h"
    ivan.presses("sum:send")
    run_bot()
    assert HelpRequest.objects.count() == 2
