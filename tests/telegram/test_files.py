"""
Photos and documents through the bot, against the fake Bot API: taken after the
situation and with a /status message, fetched into memory with a size cap,
cleaned off the event loop, held in the bot's memory (never in the cache) until
Send, refused with a clear message while everything typed stays.
"""

import io
import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import translation
from PIL import Image

from cases.services import reply_to_requester
from intake.attachments.clean import MESSAGES
from intake.models import Attachment, HelpRequest, RequestMessage
from telegram_bot import dialogue
from telegram_bot.memory import HELD_FILES
from tests.conftest import remember_sensitive
from tests.content_keys import opened
from tests.staffing import sign_in
from tests.telegram.files import (
    CAMERA_SERIAL,
    HTML,
    HTML_NAME,
    PDF_AUTHOR,
    PDF_NAME,
    PHONE_MODEL,
    PHOTO_CAPTION,
    authored_pdf,
    gps_jpeg,
    noise_jpeg,
)
from tests.telegram.helpers import (
    NARRATIVE,
    answer_everything,
    cache_entries,
    receipt_in,
    run_bot,
)
from tests.telegram.test_no_identity import database_cells, holds, identities

pytestmark = pytest.mark.django_db

RECEIVED_1 = "Файл получен (1 из 5)."
RECEIVED_2 = "Файл получен (2 из 5)."
KEPT = "Остальные ваши ответы и файлы сохранены."


@pytest.fixture(autouse=True)
def no_files_left_over():
    HELD_FILES.clear()
    yield
    HELD_FILES.clear()


@pytest.fixture
def storage_folder(settings, tmp_path) -> Path:
    """The attachments' storage in a folder of this test's own."""
    folder = tmp_path / "attachments"
    storages = {**settings.STORAGES}
    storages["attachments"] = {
        **storages["attachments"],
        "OPTIONS": {**storages["attachments"]["OPTIONS"], "location": str(folder)},
    }
    settings.STORAGES = storages
    return folder


def images_on_the_case_page(client, caseworker, help_request) -> list[bytes]:
    """Each stored clean copy, as a caseworker opens it on the case page."""
    sign_in(client, caseworker)
    found = []
    for attachment in Attachment.objects.filter(request=help_request):
        url = f"/staff/cases/{help_request.reference}/attachments/{attachment.uid}/"
        response = client.get(url)
        assert response.status_code == 200
        found.append(response.content)
    return found


def assert_no_metadata(image_bytes: bytes) -> None:
    image = Image.open(io.BytesIO(image_bytes))
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    for marker in (CAMERA_SERIAL, PHONE_MODEL, PDF_AUTHOR, "MarkerPhone", "ScannerApp"):
        assert marker.encode() not in image_bytes
    if shutil.which("exiftool"):
        tags = subprocess.run(
            ["exiftool", "-s", "-a", "-G1", "-"],
            input=image_bytes,
            capture_output=True,
            check=True,
        ).stdout.decode()
        groups = {line.split("]")[0].strip("[") for line in tags.splitlines() if "]" in line}
        assert not groups & {"GPS", "IFD0", "ExifIFD", "XMP-x", "IPTC", "MakerNotes"}, tags


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


def test_a_photo_and_a_pdf_are_held_in_memory_and_go_with_the_request(
    fake, ivan, alice, client, storage_folder
):
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
    # Two clean copies, in the order sent, with none of the files' metadata.
    stored = images_on_the_case_page(client, alice, help_request)
    assert len(stored) == 2
    for image_bytes in stored:
        assert_no_metadata(image_bytes)
    photo_copy = Image.open(io.BytesIO(stored[0])).convert("RGB")
    assert photo_copy.size == (120, 90)
    red, green, blue = photo_copy.getpixel((60, 45))
    assert abs(red - 180) < 12 and abs(green - 40) < 12 and abs(blue - 40) < 12
    page = Image.open(io.BytesIO(stored[1])).convert("RGB")
    red, green, blue = page.getpixel((page.width // 2, page.height // 2))
    assert abs(red - 10) < 12 and abs(green - 90) < 12 and abs(blue - 200) < 12


def test_a_refused_file_says_why_and_the_dialogue_goes_on(fake, ivan, settings):
    settings.ATTACHMENT_MAX_BYTES = 128 * 1024

    def files(person):
        # HTML sent as a "JPEG" document: refused by its bytes (its caption kept).
        person.sends_document(HTML, HTML_NAME, "image/jpeg", caption=PHOTO_CAPTION)
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
    narrative = opened(help_request, "narrative")["narrative"]
    assert narrative == f"{NARRATIVE}\n\n{PHOTO_CAPTION}"
    # Only the photo that was taken went with the request.
    assert Attachment.objects.filter(request=help_request).count() == 1


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
        # Olga writes while Ivan's file is being cleaned, and the cleaning takes
        # as long as it takes: here, until she has her answer (10 s at most).
        waited["thread"] = threading.current_thread().name
        olga.says("/help")
        deadline = time.monotonic() + 10
        while not fake.sent_to(olga) and time.monotonic() < deadline:
            time.sleep(0.02)
        waited["olga answered"] = bool(fake.sent_to(olga))
        return real_clean(data, language)

    monkeypatch.setattr(dialogue, "clean_file", clean_once_olga_is_answered)
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    run_bot()

    assert waited["olga answered"] is True
    assert waited["thread"].startswith("tg-clean")
    assert RECEIVED_1 in fake.sent_to(ivan)


MESSAGE = "Вот повестка, которую принесли домой."
GREEN_PHOTO = gps_jpeg(size=(64, 48), colour=(30, 160, 30))


def follow_up_with_a_photo(ivan, code: str) -> None:
    """/status, Write a message, a photo with the message as its caption, the code."""
    remember_sensitive(MESSAGE)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.sends_photo(GREEN_PHOTO, caption=MESSAGE)
    ivan.says(code)
    run_bot()


def test_a_photo_with_a_status_message_is_stored_with_the_message(
    fake, ivan, alice, client, storage_folder
):
    answer_everything(ivan)
    ivan.presses("sum:send")
    run_bot()
    code = receipt_in(fake.sent_to(ivan)[-1])

    follow_up_with_a_photo(ivan, code)

    assert fake.sent_to(ivan)[-1] == "Ваше сообщение отправлено."
    message = RequestMessage.objects.get(sender="requester")
    assert opened(message, "body")["body"] == MESSAGE
    attachment = Attachment.objects.get()
    assert attachment.message == message
    [stored] = images_on_the_case_page(client, alice, message.request)
    assert_no_metadata(stored)
    assert Image.open(io.BytesIO(stored)).convert("RGB").getpixel((32, 24))[1] > 120
    assert HELD_FILES.weight() == 0


def test_a_file_without_text_in_a_status_message_can_go_alone(fake, ivan):
    answer_everything(ivan)
    ivan.presses("sum:send")
    run_bot()
    code = receipt_in(fake.sent_to(ivan)[-1])

    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.sends_photo(gps_jpeg())
    run_bot()

    assert fake.sent_to(ivan)[-2] == RECEIVED_1
    assert fake.sent_to(ivan)[-1].startswith("Теперь напишите сообщение к нему")
    assert fake.buttons_of_last(ivan) == ["msg:files", "msg:cancel"]
    assert RequestMessage.objects.count() == 0

    ivan.presses("msg:files")
    ivan.says(code)
    run_bot()

    assert fake.sent_to(ivan)[-1] == "Ваше сообщение отправлено."
    message = RequestMessage.objects.get(sender="requester")
    assert opened(message, "body")["body"] == ""
    assert Attachment.objects.get().message == message


def test_without_a_file_there_is_no_files_only_button(fake, ivan):
    answer_everything(ivan)
    ivan.presses("sum:send")
    run_bot()
    code = receipt_in(fake.sent_to(ivan)[-1])

    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    run_bot()
    ivan.presses_on(fake.message_with_button(ivan, "msg:cancel"), "msg:files")
    run_bot()

    assert fake.calls_of("answerCallbackQuery")[-1]["text"] == "Эта кнопка больше не действует."
    assert RequestMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_no_chat_id_file_name_or_file_id_is_kept_anywhere(
    fake, ivan, alice, storage_folder, caplog
):
    remember_sensitive(PDF_NAME, HTML_NAME)
    # Made before the logs are read (Pillow itself logs the tags it writes).
    thumbnail, photo, pdf = gps_jpeg(size=(30, 20)), gps_jpeg(), authored_pdf()
    caplog.set_level(logging.DEBUG)

    def files(person):
        person.sends_photo(thumbnail, photo)
        person.sends_document(pdf, PDF_NAME, "application/pdf")
        person.sends_document(HTML, HTML_NAME, "text/html")

    answer_everything(ivan, files=files)
    ivan.presses("sum:send")
    run_bot()
    code = receipt_in(fake.sent_to(ivan)[-1])
    reply_to_requester(HelpRequest.objects.get().case, "Получили.", author=alice.user)
    follow_up_with_a_photo(ivan, code)
    assert Attachment.objects.count() == 3

    file_ids = list(fake.files)
    remember_sensitive(*file_ids)
    paths = [path for path, _data, _size in fake.files.values()]
    needles = [
        *identities(ivan),
        PDF_NAME,
        HTML_NAME,
        "application/pdf",
        *file_ids,
        *paths,
        CAMERA_SERIAL,
        PHONE_MODEL,
        PDF_AUTHOR,
    ]
    database = [(table, n) for table, value in database_cells() for n in needles if holds(value, n)]
    assert database == []
    stored = [path for path in storage_folder.rglob("*") if path.is_file()]
    assert len(stored) >= 6  # an image and a thumbnail each
    in_storage = [(path.name, n) for path in stored for n in needles if holds(path.read_bytes(), n)]
    assert in_storage == []
    names = " ".join(str(path.relative_to(storage_folder)) for path in stored)
    assert [n for n in needles if isinstance(n, str) and n in names] == []
    cache = [
        key for key, raw, _t in cache_entries() for n in needles if holds(key, n) or holds(raw, n)
    ]
    assert cache == []
    assert [n for n in needles if isinstance(n, str) and n in caplog.text] == []


def test_files_past_the_total_are_refused_by_their_announced_size(fake, ivan, settings):
    settings.ATTACHMENT_MAX_TOTAL = 2000
    first, second = gps_jpeg(), gps_jpeg(colour=(0, 0, 200))
    assert len(first) + len(second) > 2000 > len(first)

    up_to_files(ivan)
    ivan.sends_photo(first)
    ivan.sends_document(second, "second.jpg", "image/jpeg")
    run_bot()

    refusals = [text for text in fake.sent_to(ivan) if text.endswith(KEPT)]
    assert len(refusals) == 1
    assert refusals[0].startswith("Этот файл не принят: все файлы вместе могут занимать не больше")
    assert len(fake.downloads) == 1


def test_no_file_is_fetched_once_the_bot_holds_its_ceiling(fake, ivan, olga, monkeypatch):
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    run_bot()
    assert HELD_FILES.weight() > 0
    monkeypatch.setattr(dialogue, "HELD_BYTES_CEILING", HELD_FILES.weight())

    up_to_files(olga)
    olga.sends_photo(gps_jpeg())
    run_bot()

    assert fake.sent_to(olga)[-2].startswith("Сейчас приходит очень много файлов")
    assert len(fake.downloads) == 1


def test_no_file_is_fetched_for_a_chat_past_the_flood_limit(fake, ivan, settings):
    up_to_files(ivan)
    settings.TELEGRAM_FLOOD_LIMIT = "3/h"  # this chat has sent more already

    ivan.sends_photo(gps_jpeg())
    run_bot()

    assert fake.downloads == []
    assert HELD_FILES.weight() == 0


def test_files_of_a_dialogue_gone_from_the_cache_are_dropped(fake, ivan, olga):
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    run_bot()
    assert HELD_FILES.weight() > 0
    # A shred run by another process empties the cache, not this one's memory...
    cache.delete_many([key.split(":", 2)[2] for key, _r, _t in cache_entries()])

    # ...so the bot's next update, whoever sends it, drops them.
    olga.says("/help")
    run_bot()

    assert HELD_FILES.weight() == 0


def test_files_are_held_as_long_as_the_answers_the_thirty_minutes_promised(fake, ivan):
    up_to_files(ivan)
    ivan.sends_photo(gps_jpeg())
    run_bot()

    [(_key, _raw, ttl)] = [entry for entry in cache_entries() if ":tg:dialogue:" in entry[0]]
    assert 29 * 60 < ttl <= 30 * 60
    [held] = HELD_FILES._entries.values()
    assert 29 * 60 < held.deadline - time.monotonic() <= 30 * 60
