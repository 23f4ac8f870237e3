"""
Photos and documents through the bot, against the fake Bot API: taken after the
situation and with a /status message, fetched into memory with a size cap,
cleaned off the event loop, held in the bot's memory (never in the cache) until
Send, refused with a clear message while everything typed stays.
"""

import threading
import time

import pytest
from django.utils import translation

from intake.attachments.clean import MESSAGES
from intake.models import HelpRequest
from telegram_bot import dialogue
from telegram_bot.memory import HELD_FILES
from tests.conftest import remember_sensitive
from tests.content_keys import opened
from tests.telegram.files import (
    HTML,
    HTML_NAME,
    PDF_NAME,
    PHOTO_CAPTION,
    authored_pdf,
    gps_jpeg,
    noise_jpeg,
)
from tests.telegram.helpers import NARRATIVE, answer_everything, cache_entries, run_bot

pytestmark = pytest.mark.django_db

RECEIVED_1 = "Файл получен (1 из 5)."
RECEIVED_2 = "Файл получен (2 из 5)."
KEPT = "Остальные ваши ответы и файлы сохранены."


@pytest.fixture(autouse=True)
def no_files_left_over():
    HELD_FILES.clear()
    yield
    HELD_FILES.clear()


def up_to_files(person) -> None:
    """From /start to the files step."""
    person.says("/start")
    for data in ("cat:desertion", "svc:mobilised", "loc:front_line", "urg:high", "art:done"):
        person.presses(data)
    person.says(NARRATIVE)
    person.presses("nar:done")
    run_bot()


def test_the_files_step_comes_after_the_situation_and_can_be_skipped(fake, ivan):
    answer_everything(ivan, run=False)
    run_bot()

    sent = fake.sent_to(ivan)
    asked = [text for text in sent if text.startswith("Теперь можно прислать фотографии")]
    assert len(asked) == 1
    assert "не больше 5 файлов, до 10 МБ каждый и до 25 МБ вместе" in asked[0]
    # Skip (no file) leads on to the contact question, the seventh of eight.
    following = sent[sent.index(asked[0]) + 1]
    assert following.startswith("Вопрос 7 из 8")


def test_a_photo_and_a_pdf_are_held_in_memory_and_go_with_the_request(fake, ivan):
    photo, pdf = gps_jpeg(), authored_pdf()
    remember_sensitive(PHOTO_CAPTION, PDF_NAME)

    def files(person):
        person.sends_photo(gps_jpeg(size=(40, 30)), photo, caption=PHOTO_CAPTION)
        person.sends_document(pdf, PDF_NAME, "application/pdf")

    answer_everything(ivan, files=files)

    sent = fake.sent_to(ivan)
    assert RECEIVED_1 in sent and RECEIVED_2 in sent
    assert "Текст, присланный с файлом, добавлен к описанию ситуации." in sent
    summary = sent[-1]
    assert "Файлы: 2" in summary
    # Held in the bot's memory, clean; nothing of them in the cache.
    raw_cache = b"".join(raw if isinstance(raw, bytes) else b"" for _k, raw, _t in cache_entries())
    assert photo[-200:] not in raw_cache and pdf[-200:] not in raw_cache
    assert len(cache_entries()) < 20

    ivan.presses("sum:send")
    run_bot()

    help_request = HelpRequest.objects.get()
    narrative = opened(help_request, "narrative")["narrative"]
    assert narrative == f"{NARRATIVE}\n\n{PHOTO_CAPTION}"
    # The largest photo size was fetched, not the thumbnail; each file once.
    assert len(fake.downloads) == len(set(fake.downloads)) == 2
    assert HELD_FILES.weight() == 0, "sent: the bot holds nothing any more"


def test_a_refused_file_says_why_and_the_dialogue_goes_on(fake, ivan, settings):
    settings.ATTACHMENT_MAX_BYTES = 128 * 1024

    def files(person):
        # HTML sent as a "JPEG" document: refused by its bytes.
        person.sends_document(HTML, HTML_NAME, "image/jpeg")
        # Announced over the limit: refused without being downloaded.
        person.sends_document(noise_jpeg(300), "big.jpg", "image/jpeg", announced=300_000)
        # Announced small but larger: the download stops past the limit.
        person.sends_document(noise_jpeg(400), "liar.jpg", "image/jpeg", announced=1_000)
        person.sends_photo(gps_jpeg())

    answer_everything(ivan, files=files)

    sent = fake.sent_to(ivan)
    refusals = [text for text in sent if text.endswith(KEPT)]
    assert len(refusals) == 3
    with translation.override("ru"):
        assert refusals[0] == f"{MESSAGES['kind']} {KEPT}"
    assert refusals[1] == f"Этот файл не принят: он больше 0.125 МБ. {KEPT}"
    assert refusals[2] == refusals[1]
    assert RECEIVED_1 in sent
    big = [fid for fid, (_p, _d, announced) in fake.files.items() if announced == 300_000]
    assert big and big[0] not in fake.downloads

    ivan.presses("sum:send")
    run_bot()
    help_request = HelpRequest.objects.get()
    assert opened(help_request, "narrative")["narrative"] == NARRATIVE


def test_of_a_photos_sizes_the_largest_within_the_limit_is_fetched(fake, ivan, settings):
    settings.ATTACHMENT_MAX_BYTES = 100_000
    small, middle = gps_jpeg(size=(30, 20)), gps_jpeg(size=(200, 150))
    too_big = (noise_jpeg(250), 150_000)

    answer_everything(ivan, files=lambda person: person.sends_photo(small, middle, too_big))

    ids = list(fake.files)
    assert fake.downloads == [ids[1]]
    assert RECEIVED_1 in fake.sent_to(ivan)


def test_more_files_than_allowed_are_refused(fake, ivan, settings):
    settings.ATTACHMENT_MAX_FILES = 1

    def files(person):
        person.sends_photo(gps_jpeg())
        person.sends_photo(gps_jpeg(colour=(0, 0, 200)))

    answer_everything(ivan, files=files)

    sent = fake.sent_to(ivan)
    assert "Файл получен (1 из 1)." in sent
    assert f"Этот файл не принят: можно прислать не больше 1 файлов. {KEPT}" in sent
    assert len(fake.downloads) == 1, "the second was never fetched"


def test_a_file_where_none_is_asked_is_not_fetched(fake, ivan):
    ivan.says("/start")
    ivan.sends_photo(gps_jpeg(), caption="подпись")
    run_bot()

    warning, question = fake.sent_to(ivan)[-2:]
    assert warning.startswith("Фотографии и документы принимаются после описания ситуации")
    assert question.startswith("Вопрос 1 из 8")
    assert fake.downloads == []


def test_cancel_drops_the_files_held(fake, ivan):
    answer_everything(ivan, files=lambda person: person.sends_photo(gps_jpeg()))
    assert HELD_FILES.weight() > 0

    ivan.says("/cancel")
    run_bot()

    assert HELD_FILES.weight() == 0


def test_files_lost_in_a_restart_are_mentioned_in_the_summary(fake, ivan):
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    run_bot()
    HELD_FILES.clear()  # the bot process restarted: its memory is gone

    for data in ("fil:done", "con:skip", "ali:skip"):
        ivan.presses(data)
    run_bot()

    summary = fake.sent_to(ivan)[-1]
    assert "потерялись при перезапуске бота" in summary
    assert "Файлы:" not in summary


def test_other_chats_are_answered_while_a_file_is_cleaned(fake, ivan, olga, monkeypatch):
    real_clean = dialogue.clean_file
    waited = {}

    def clean_once_olga_is_answered(data, language):
        # Cleaning takes as long as it takes: here, until Olga has her answer.
        deadline = time.monotonic() + 10
        while not fake.sent_to(olga) and time.monotonic() < deadline:
            time.sleep(0.02)
        waited["olga answered first"] = bool(fake.sent_to(olga))
        waited["thread"] = threading.current_thread().name
        return real_clean(data, language)

    monkeypatch.setattr(dialogue, "clean_file", clean_once_olga_is_answered)
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    olga.says("/help")
    run_bot()

    assert waited == {"olga answered first": True, "thread": waited["thread"]}
    assert waited["thread"].startswith("tg-clean")
    assert RECEIVED_1 in fake.sent_to(ivan)
