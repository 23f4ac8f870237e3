"""
Nobody's Telegram identity is kept: after people have used the bot, no chat id,
user id, username or name (and not the bot's token) is in the database, the
cache, the logs or a task's arguments; what a person typed sits in the cache
only sealed, only for a short while, and goes on submit and /cancel.
"""

import logging

import pytest
from celery.signals import before_task_publish, task_prerun
from django.db import connection

from cases.services import reply_to_requester
from intake.models import HelpRequest
from telegram_bot.memory import DIALOGUE_TTL
from tests.conftest import remember_sensitive
from tests.telegram.conftest import TOKEN
from tests.telegram.helpers import (
    CONTACT,
    NARRATIVE,
    answer_everything,
    cache_entries,
    run_bot,
    submit_through_bot,
)

pytestmark = pytest.mark.django_db

OLGAS_STORY = "Служу по контракту под Курском, командир грозит отправить на штурм."
MESSAGE = "Спасибо, я на связи через этот код."


def identities(*people) -> list[str | bytes]:
    """Each person's chat id (as text and as an integer is pickled), username and name."""
    found: list[str | bytes] = [TOKEN, TOKEN.split(":")[1]]
    for person in people:
        size = (person.chat_id.bit_length() + 8) // 8
        found += [
            str(person.chat_id),
            person.chat_id.to_bytes(size, "little", signed=True),
            person.username,
            person.first_name,
        ]
    return found


def holds(value: object, needle: str | bytes) -> bool:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return (needle if isinstance(needle, bytes) else needle.encode()) in value
    return isinstance(needle, str) and needle in str(value)


def database_cells():
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    yield table, value


@pytest.fixture
def task_arguments():
    seen = []

    def published(sender=None, body=None, **kwargs):
        seen.append(repr(body))

    def started(sender=None, args=None, kwargs=None, **extra):
        seen.append(repr((args, kwargs)))

    before_task_publish.connect(published, weak=False)
    task_prerun.connect(started, weak=False)
    yield seen
    before_task_publish.disconnect(published)
    task_prerun.disconnect(started)


@pytest.mark.django_db(transaction=True)  # committed, so the new request is announced
def test_nothing_the_system_writes_holds_who_was_writing(
    fake, ivan, olga, alice, caplog, task_arguments
):
    caplog.set_level(logging.DEBUG)
    remember_sensitive(OLGAS_STORY, MESSAGE)
    # A request sent, answered and followed up; another left half-way.
    code = submit_through_bot(ivan)
    reply_to_requester(HelpRequest.objects.get().case, "Ответ консультанта.", author=alice.user)
    ivan.says(f"/status {code}")
    ivan.presses("st:write")
    ivan.says(MESSAGE)
    olga.says("/lang")
    olga.presses("lang:en")
    answer_everything(olga, narrative=OLGAS_STORY, contact="")

    needles = identities(ivan, olga)
    database = [(table, n) for table, value in database_cells() for n in needles if holds(value, n)]
    assert database == []
    entries = cache_entries()
    assert entries, "the half-way dialogue is in the cache"
    cache = [key for key, raw, _ttl in entries for n in needles if holds(key, n) or holds(raw, n)]
    assert cache == []
    assert [n for n in needles if isinstance(n, str) and n in caplog.text] == []
    assert task_arguments, "the new request was announced"
    assert [n for n in needles if any(holds(args, n) for args in task_arguments)] == []


def test_what_a_person_typed_is_sealed_in_the_cache_and_short_lived(fake, ivan):
    answer_everything(ivan)

    dialogue = [(key, raw, ttl) for key, raw, ttl in cache_entries() if ":tg:dialogue:" in key]
    assert len(dialogue) == 1
    _key, raw, ttl = dialogue[0]
    assert 0 < ttl <= DIALOGUE_TTL
    for typed in (NARRATIVE, CONTACT, "desertion", "mobilised"):
        assert typed.encode() not in raw


def test_the_dialogue_is_deleted_on_submit(fake, ivan):
    answer_everything(ivan)

    ivan.presses("sum:send")
    run_bot()

    keys = [key for key, _raw, _ttl in cache_entries()]
    assert not [key for key in keys if ":tg:dialogue:" in key or ":tg:receipt:" in key]


def test_the_dialogue_is_deleted_on_cancel(fake, ivan):
    answer_everything(ivan)

    ivan.says("/cancel")
    run_bot()

    assert not [key for key, _raw, _ttl in cache_entries() if ":tg:dialogue:" in key]


def test_the_token_is_masked_in_any_log_line(fake, ivan, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail("getUpdates", "502", times=2)
    ivan.says("/start")
    run_bot()

    # As a library might log a failed request: the token is part of every URL
    # (which the log filter of core/logging.py masks as a whole, too)...
    logging.getLogger("aiohttp.client").warning("POST %s/bot%s/getUpdates failed", fake.url, TOKEN)
    # ...or name it outside any URL.
    logging.getLogger("aiohttp.client").warning("token %s refused", TOKEN)

    assert TOKEN not in caplog.text
    assert "POST [url] failed" in caplog.text
    assert "token [hidden] refused" in caplog.text
    assert "telegram: getUpdates failed (ClientDecodeError)" in caplog.text


def test_a_cache_that_cannot_count_counts_nothing_and_lets_everything_through(monkeypatch):
    from core.ratelimit import Rate
    from telegram_bot import memory
    from tests.telegram.conftest import IVAN

    class Unreachable:
        def add(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        incr = add

    monkeypatch.setattr(memory, "cache", Unreachable())
    rate = Rate.parse("1/m")

    assert memory.ChatMemory(IVAN[0]).count("updates", rate) == 0
    assert memory.count_everyone("submit", rate) == 0
