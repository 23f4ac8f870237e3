"""Steps of the bot's tests: run the bot, play a whole dialogue, read the cache."""

import io
import re
import time

from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command

from tests.conftest import remember_sensitive

RECEIPT = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b")


def run_bot() -> str:
    """Handle every update waiting at the fake Bot API, as the real command does."""
    out = io.StringIO()
    call_command("run_telegram_bot", "--drain", stdout=out)
    return out.getvalue()


def receipt_in(text: str) -> str:
    match = RECEIPT.search(text)
    assert match, text
    return match.group(0)


ANSWERS = {
    "cat": "desertion",
    "svc": "mobilised",
    "loc": "front_line",
    "urg": "high",
}
NARRATIVE = "Нас отправляют обратно на передовую в четверг, я не хочу туда возвращаться."
CONTACT = "@ivan_safe_contact_77"


def answer_everything(
    person, *, narrative=NARRATIVE, contact=CONTACT, alias="", files=None, run=True
) -> None:
    """
    From /start to the summary, pressing each button once the bot has sent it;
    `files(person)` sends photos or documents at the files step.
    """
    remember_sensitive(narrative, contact, alias)
    person.says("/start")
    for prefix, value in ANSWERS.items():
        person.presses(f"{prefix}:{value}")
    person.presses("art:338")
    person.presses("art:done")
    person.says(narrative)
    person.presses("nar:done")
    if files is not None:
        files(person)
    person.presses("fil:done")
    if contact:
        person.says(contact)
    else:
        person.presses("con:skip")
    if alias:
        person.says(alias)
    else:
        person.presses("ali:skip")
    if run:
        run_bot()


def submit_through_bot(person) -> str:
    answer_everything(person)
    person.presses("sum:send")
    run_bot()
    with_code = [text for text in person.fake.sent_to(person) if RECEIPT.search(text)]
    return receipt_in(with_code[-1])


def cache_entries() -> list[tuple[str, bytes, float]]:
    """
    Every entry this test wrote to the cache, as stored: (key, raw value, seconds
    left), from Redis itself or from the local-memory cache's own tables.
    """
    prefix = settings.CACHES["default"]["KEY_PREFIX"] + ":"
    backend = caches["default"]
    if settings.REDIS_URL:
        client = backend._cache.get_client(None)
        return [
            (key.decode(), client.get(key) or b"", float(client.ttl(key)))
            for key in client.scan_iter(match=prefix + "*")
        ]
    now = time.time()
    return [
        (key, value, backend._expire_info[key] - now)
        for key, value in list(backend._cache.items())
        if key.startswith(prefix)
    ]
