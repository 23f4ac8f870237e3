"""
What the bot remembers about a chat, where, and for how long.

Everything lives in the cache (Redis on a server), never in the database, and
every key names the chat only by `chat_handle`, a keyed hash of its chat id:

- dialogue: the answers so far, or where a follow-up stands (with the message
  being written, never a receipt code: the code is asked again each time it is
  needed, and forgotten once its answer is sent); sealed; DIALOGUE_TTL after the
  last change, deleted on submit and on /cancel;
- language: "ru" or "en"; DIALOGUE_TTL after the last update;
- receipt: a receipt code whose message has not reached the chat yet; sealed;
  until delivered, at most RECEIPT_TTL;
- seen: that an update was handled, nothing else; SEEN_TTL;
- counters: updates, submissions and lookups in the window; the window.

Sealed values are encrypted under a key derived from the chat id itself
(encryption.chats), so a dump of the cache reveals nothing without the chat
id. The chat id, user id, username and names are never written anywhere.
`shred_content_keys` deletes every entry at once (`forget_every_chat`).
"""

import json
import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from core.ratelimit import Rate
from encryption.chats import chat_handle, open_for_chat, seal_for_chat

logger = logging.getLogger(__name__)

# Long enough to answer eight questions and write a few paragraphs.
DIALOGUE_TTL = 30 * 60
# Telegram keeps an update it has not been told was handled for 24 hours, so a
# redelivered update is recognised for as long as it can come back.
SEEN_TTL = 24 * 3600
# A receipt that could not be delivered (Telegram down) waits this long for
# the chat's next message.
RECEIPT_TTL = 24 * 3600
PREFIX = "tg"


class ChatMemory:
    """One chat's entries in the cache. Cache errors propagate (see `count`)."""

    def __init__(self, chat_id: int) -> None:
        self._chat_id = chat_id
        self._handle = chat_handle(chat_id)

    def __repr__(self) -> str:
        return "<ChatMemory>"

    def _key(self, entry: str) -> str:
        return f"{PREFIX}:{entry}:{self._handle}"

    def _seal(self, value: object) -> bytes:
        return seal_for_chat(self._chat_id, json.dumps(value).encode("utf-8"))

    def _open(self, sealed: object) -> object | None:
        plaintext = open_for_chat(self._chat_id, sealed) if sealed is not None else None
        return json.loads(plaintext) if plaintext is not None else None

    # --- the dialogue in progress ------------------------------------------------

    def dialogue(self) -> dict | None:
        value = self._open(cache.get(self._key("dialogue")))
        return value if isinstance(value, dict) else None

    def keep_dialogue(self, state: dict) -> None:
        cache.set(self._key("dialogue"), self._seal(state), timeout=DIALOGUE_TTL)

    def forget_dialogue(self) -> None:
        cache.delete(self._key("dialogue"))

    # --- language ------------------------------------------------------------------

    def language(self, default: str) -> str:
        value = cache.get(self._key("language"))
        return value if value in ("ru", "en") else default

    def keep_language(self, language: str) -> None:
        cache.set(self._key("language"), language, timeout=DIALOGUE_TTL)

    # --- a receipt on its way ------------------------------------------------------

    def hold_receipt(self, code: str) -> None:
        cache.set(self._key("receipt"), self._seal(code), timeout=RECEIPT_TTL)

    def held_receipt(self) -> str | None:
        value = self._open(cache.get(self._key("receipt")))
        return value if isinstance(value, str) else None

    def receipt_delivered(self) -> None:
        cache.delete(self._key("receipt"))

    # --- updates already handled ----------------------------------------------------

    def _seen_key(self, update_id: int) -> str:
        return f"{PREFIX}:seen:{chat_handle(self._chat_id, 'update', update_id)}"

    def seen(self, update_id: int) -> bool:
        return cache.get(self._seen_key(update_id)) is not None

    def mark_seen(self, update_id: int) -> None:
        cache.set(self._seen_key(update_id), 1, timeout=SEEN_TTL)

    # --- rate limits -------------------------------------------------------------------

    def count(self, scope: str, rate: Rate | None) -> int:
        """
        Count one event of `scope` for this chat in the rate's window and return
        the count so far (0 when there is no limit). If the cache cannot count,
        the event is let through: a real request must never be lost to it.
        """
        if rate is None:
            return 0
        return _count(self._key(f"rate:{scope}"), rate)


def count_everyone(scope: str, rate: Rate | None) -> int:
    """The same count over every chat together (a ceiling), or 0 without a limit."""
    if rate is None:
        return 0
    return _count(f"{PREFIX}:rate:{scope}:all", rate)


def _count(key: str, rate: Rate) -> int:
    try:
        cache.add(key, 0, timeout=rate.seconds)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=rate.seconds)
            return 1
    except Exception:
        logger.warning("telegram: rate limiting is unavailable (cache unreachable): allowed")
        return 0


def forget_every_chat() -> int:
    """
    Delete every entry the bot keeps, for every chat (a shred): dialogues,
    receipts on their way, languages, handled updates and counters. Returns how
    many entries went. The cache's other keys (Celery's queue shares Redis) stay.
    Django's cache has no "delete by prefix", so this asks the backend itself.
    """
    return _delete_prefixed(caches[DEFAULT_CACHE_ALIAS], f"{PREFIX}:")


def count_every_chat() -> int:
    """How many entries `forget_every_chat` would delete (the shred's dry run)."""
    return len(_prefixed_keys(caches[DEFAULT_CACHE_ALIAS], f"{PREFIX}:"))


def _prefixed_keys(backend, prefix: str) -> list:
    pattern = backend.make_key(prefix)
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        escaped = "".join(f"\\{ch}" if ch in "\\*?[]" else ch for ch in pattern)
        return list(client.scan_iter(match=escaped + "*", count=1000))
    if isinstance(backend, LocMemCache):
        with backend._lock:
            return [key for key in backend._cache if key.startswith(pattern)]
    raise NotImplementedError(f"cannot list the entries of a {type(backend).__name__}")


def _delete_prefixed(backend, prefix: str) -> int:
    keys = _prefixed_keys(backend, prefix)
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        return sum(client.delete(*keys[i : i + 500]) for i in range(0, len(keys), 500))
    with backend._lock:
        return sum(1 for key in keys if backend._delete(key))
