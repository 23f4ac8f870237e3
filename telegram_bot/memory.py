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

Files (photos and documents) are the exception: their clean copies are held in
this process's memory only (`HeldFiles`), never in the cache, on disk or in the
database, until the request or message they belong to is sent. Why not sealed
in Redis like the text: a file is up to ATTACHMENT_MAX_BYTES, a dialogue up to
ATTACHMENT_MAX_TOTAL; Redis may write its memory to disk (RDB/AOF) and copy it
to replicas, and megabytes per chat there would let a flood of photos fill the
cache that Celery and the rate limits share. In memory the files cannot outlive
the bot process, and their number and size are capped (HELD_BYTES_CEILING). The
price is that a restarted bot has lost them: the sealed dialogue remembers how
many were sent, so the person is told to send them again. Held files belong to
one dialogue (a random token in the sealed state): they go with it on Send,
/cancel, Start over, expiry and a shred of the cache (the next update's sweep
finds the dialogue gone).

Sealed values are encrypted under a key derived from the chat id itself
(encryption.chats), so a dump of the cache reveals nothing without the chat
id. The chat id, user id, username and names are never written anywhere.
`shred_content_keys` deletes every entry at once (`forget_every_chat`).
"""

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

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
# Clean copies held for every chat together in this process; past it new files
# are refused ("busy") until dialogues are sent or expire.
HELD_BYTES_CEILING = 256 * 1024 * 1024


@dataclass(repr=False)
class _Held:
    token: str
    deadline: float
    files: list = field(default_factory=list)  # clean copies, in the order sent
    sizes: list = field(default_factory=list)  # bytes of each file as it was received
    weight: int = 0  # bytes of memory the clean copies take


class HeldFiles:
    """
    The clean copies of the files each chat sent in the dialogue in progress,
    in this process's memory only (see the module's docstring). Entries are
    named by the chat's handle, never by its id; nothing here is ever logged.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Held] = {}

    def __repr__(self) -> str:
        return "<HeldFiles>"

    def weight(self) -> int:
        with self._lock:
            return sum(entry.weight for entry in self._entries.values())

    def get(self, handle: str, token: str | None) -> _Held | None:
        with self._lock:
            entry = self._entries.get(handle)
            if entry is None or token is None or entry.token != token:
                return None
            if entry.deadline <= time.monotonic():
                del self._entries[handle]
                return None
            return entry

    def add(self, handle: str, token: str, cleaned: object, size: int, weight: int) -> _Held:
        with self._lock:
            entry = self._entries.get(handle)
            if entry is None or entry.token != token:
                entry = self._entries[handle] = _Held(token, 0.0)
            entry.files.append(cleaned)
            entry.sizes.append(size)
            entry.weight += weight
            entry.deadline = time.monotonic() + DIALOGUE_TTL
            return entry

    def drop(self, handle: str) -> None:
        with self._lock:
            self._entries.pop(handle, None)

    def sweep(self, alive) -> None:
        """Drop expired entries and those whose dialogue `alive(handle)` no longer finds."""
        with self._lock:
            handles = list(self._entries)
        now = time.monotonic()
        for handle in handles:
            entry = self._entries.get(handle)
            if entry is not None and (entry.deadline <= now or not alive(handle)):
                self.drop(handle)

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count


HELD_FILES = HeldFiles()


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
        HELD_FILES.drop(self._handle)

    # --- files sent in the dialogue (process memory, see HeldFiles) -----------------

    def held_files(self, state: dict | None) -> list:
        """The clean copies held for this dialogue (none if its token does not match)."""
        entry = HELD_FILES.get(self._handle, (state or {}).get("files_token"))
        return list(entry.files) if entry is not None else []

    def held_bytes(self, state: dict | None) -> int:
        """The received size of the files held for this dialogue, together."""
        entry = HELD_FILES.get(self._handle, (state or {}).get("files_token"))
        return sum(entry.sizes) if entry is not None else 0

    def hold_file(self, state: dict, cleaned: object, size: int, weight: int) -> int:
        """
        Keep a clean copy for this dialogue; returns how many are held. The
        state gets the token (and the count, for telling a person after a
        restart that files were lost): save it afterwards.
        """
        token = state.get("files_token")
        if HELD_FILES.get(self._handle, token) is None:
            token = state["files_token"] = secrets.token_hex(16)
        entry = HELD_FILES.add(self._handle, token, cleaned, size, weight)
        state["files"] = len(entry.files)
        return len(entry.files)

    def forget_files(self, state: dict | None) -> None:
        HELD_FILES.drop(self._handle)
        if state is not None:
            state.pop("files_token", None)
            state.pop("files", None)

    def peek(self, scope: str) -> int:
        """This chat's count of `scope` in the current window, without counting."""
        try:
            return int(cache.get(self._key(f"rate:{scope}")) or 0)
        except Exception:
            return 0

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


def sweep_held_files() -> None:
    """Drop held files whose dialogue expired, was deleted or was shredded away."""
    HELD_FILES.sweep(lambda handle: cache.get(f"{PREFIX}:dialogue:{handle}") is not None)


def forget_every_chat() -> int:
    """
    Delete every entry the bot keeps, for every chat (a shred): dialogues,
    receipts on their way, languages, handled updates and counters. Returns how
    many entries went. The cache's other keys (Celery's queue shares Redis) stay.
    Django's cache has no "delete by prefix", so this asks the backend itself.
    Files held in this process go too; a bot process of its own drops its held
    files at its next update, when the sweep finds their dialogues gone.
    """
    HELD_FILES.clear()
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
