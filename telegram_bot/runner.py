"""
The thin adapter between the Bot API (aiogram) and the dialogue.

Updates arrive by long polling (getUpdates) or, when TELEGRAM_WEBHOOK_URL is
set, by webhook. Either way an update is acknowledged only after it has been
handled: in polling the offset moves past an update once its replies are out,
and a webhook answers 200 only then, so a bot stopped mid-way gets the update
again and the dialogue's "seen" marker keeps it from being handled twice.

Replies go out with retries and exponential backoff (Telegram's retry_after
when it names one); a receipt that still cannot be delivered stays sealed in
the cache and goes out with the chat's next update.

Nothing here logs a chat id, a user, a text or the token: log lines name the
API method and the kind of error only, and `hide_in_logs` masks the token (it
is part of every Bot API URL) in any record that might still carry it.

Updates are handled concurrently across chats and in order within a chat (a
turn per chat), so a slow file in one chat holds up no other. A photo or a
document is fetched only when the dialogue wants one (`dialogue.file_room`):
getFile, then the file URL under TELEGRAM_API_URL, read into memory in chunks
and abandoned past the allowed size (no temporary file), then cleaned in a
thread of its own (the cleaner's child process does the decoding), never on
the event loop.
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageText,
    GetFile,
    GetMe,
    GetUpdates,
    SendMessage,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from telegram_bot import dialogue
from telegram_bot.dialogue import Button, FileOffer, Incoming, Outcome, Upload

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
# Seconds a getUpdates call waits for news before Telegram answers empty.
POLL_TIMEOUT = 25
# Waits between attempts: 1 s, 2 s, 4 s ... up to a minute.
RETRY = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=2.0, jitter=0.1)
# A message is tried this often (about half a minute of waiting) before giving up.
SEND_ATTEMPTS = 6
# In --drain mode, failed calls in a row tolerated before the command gives up.
DRAIN_ATTEMPTS = 5
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_WEBHOOK_BODY = 1024 * 1024
# Files cleaned at once (each in the cleaner's child process); more wait their turn.
CLEANERS = 2
DOWNLOAD_CHUNK = 64 * 1024
# While an update is in hand, getUpdates hands it out again: wait this long at
# most (or until an update is done) before asking again.
IN_HAND_WAIT = 1.0


class BotFailure(Exception):
    """The bot cannot go on (the token is refused, the API never answers)."""


def hide_in_logs(*values: str) -> None:
    """Mask these values in every log record that reaches a handler, whoever logs it."""
    _MASK.values.update(value for value in values if value)
    for handler in logging.getLogger().handlers:
        if _MASK not in handler.filters:
            handler.addFilter(_MASK)


class _Mask(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()

    def _masked(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, "[hidden]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = self._masked(message), ()
        if record.exc_info:
            record.exc_text = self._masked(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_MASK = _Mask()


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data) for button in row]
            for row in rows
        ]
    )


def file_offer(message) -> FileOffer | None:
    """
    The file a message carries, as Telegram announces it. Of a photo's sizes,
    the largest within ATTACHMENT_MAX_BYTES (the largest of all if none is, to
    be refused by its size); of a document, only its id and size: its name and
    declared type are never read.
    """
    if message.photo:
        limit = settings.ATTACHMENT_MAX_BYTES
        fitting = [p for p in message.photo if p.file_size is None or p.file_size <= limit]
        chosen = max(fitting or message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return FileOffer(file_id=chosen.file_id, size=chosen.file_size)
    if message.document is not None:
        return FileOffer(file_id=message.document.file_id, size=message.document.file_size)
    return None


def incoming_from(update: Update) -> tuple[Incoming, str | None] | None:
    """The dialogue's view of an update, and the callback query id to answer, if any."""
    if update.message is not None:
        message = update.message
        return (
            Incoming(
                chat_id=message.chat.id,
                update_id=update.update_id,
                text=message.text,
                private=message.chat.type == "private",
                file=file_offer(message),
                caption=message.caption,
            ),
            None,
        )
    query = update.callback_query
    if query is not None and query.message is not None:
        return (
            Incoming(
                chat_id=query.message.chat.id,
                update_id=update.update_id,
                data=query.data or "",
                message_id=query.message.message_id,
                private=query.message.chat.type == "private",
            ),
            query.id,
        )
    return None


def _handle_in_worker(incoming: Incoming) -> Outcome:
    _tidy_connections()
    try:
        return dialogue.handle(incoming)
    finally:
        _tidy_connections()


def _tidy_connections(close: bool = False) -> None:
    """
    As Django does around each web request: drop database connections that
    broke (a database restart) or grew too old, so a long-running bot
    recovers; with `close`, all of them. Never one inside a transaction.
    """
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        if close:
            connection.close()
        else:
            connection.close_if_unusable_or_obsolete()


class BotRunner:
    """One bot: its API session, its stop signal and its way of receiving updates."""

    def __init__(self, token: str, api_url: str, request_timeout: int = 30) -> None:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(api_url), timeout=float(request_timeout)
        )
        self.bot = Bot(token=token, session=session)  # validates the token's shape
        self.request_timeout = request_timeout
        # Failed attempts tolerated in a row; None: retry for as long as it takes.
        self.patience: int | None = None
        self.stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # A chat's updates must not overtake each other: one turn per chat at a
        # time (other chats go on). Keyed by chat id in memory, only while in use.
        self._turns: dict[int, list] = {}
        self._cleaners = ThreadPoolExecutor(max_workers=CLEANERS, thread_name_prefix="tg-clean")

    def stop(self) -> None:
        """Stop after the updates in hand (from the bot's own event loop)."""
        self.stopping.set()

    def request_stop(self) -> None:
        """The same from any thread or a signal handler."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.stopping.set()
        else:
            loop.call_soon_threadsafe(self.stopping.set)

    # --- calls with retries -----------------------------------------------------------

    async def call(self, method: TelegramMethod, attempts: int = SEND_ATTEMPTS):
        """The method's result, or None when it failed for good (logged without content)."""
        backoff = Backoff(RETRY)
        name = method.__api_method__
        for attempt in range(1, attempts + 1):
            try:
                return await self.bot(method)
            except TelegramRetryAfter as error:
                delay, kind = float(error.retry_after), "TelegramRetryAfter"
            except TelegramEntityTooLarge:
                logger.warning("telegram: %s refused as too large", name)
                return None
            except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as error:
                # Unreachable, timed out, 5xx, or a proxy's error page instead of JSON.
                delay, kind = next(backoff), type(error).__name__
            except TelegramUnauthorizedError:
                raise BotFailure("Telegram refused the token: check TELEGRAM_BOT_TOKEN.") from None
            except TelegramAPIError as error:
                # Bad request, blocked by the person, message gone: retrying cannot help.
                logger.warning("telegram: %s refused (%s)", name, type(error).__name__)
                return None
            except Exception as error:
                logger.warning("telegram: %s failed (%s)", name, type(error).__name__)
                return None
            if attempt == attempts:
                break
            logger.warning(
                "telegram: %s failed (%s); attempt %s of %s, next in %.1f s",
                name, kind, attempt, attempts, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
        logger.warning("telegram: %s failed (%s) %s time(s) in a row", name, kind, attempts)
        return None

    async def call_until_done(self, method: TelegramMethod):
        """
        For start-up calls: retry until it works or the bot is told to stop
        (with `patience`, at most that many times).
        """
        backoff, attempts = Backoff(RETRY), 0
        while not self.stopping.is_set():
            result = await self.call(method, attempts=1)
            if result is not None:
                return result
            attempts += 1
            if self.patience is not None and attempts >= self.patience:
                raise BotFailure(f"the Bot API did not answer {method.__api_method__}")
            await self._sleep_unless_stopping(next(backoff))
        return None

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    # --- one update ----------------------------------------------------------------------

    async def handle_update(self, update: Update) -> None:
        parsed = incoming_from(update)
        if parsed is None:
            return
        incoming, callback_id = parsed
        async with self._turn(incoming.chat_id):
            if incoming.file is not None:
                await self.take_file(incoming)
            outcome = await sync_to_async(_handle_in_worker)(incoming)
            await self.deliver(incoming.chat_id, callback_id, outcome)

    @contextlib.asynccontextmanager
    async def _turn(self, chat_id: int):
        # asyncio.Lock serves its waiters first come, first served: a chat's
        # updates keep their order.
        turn = self._turns.setdefault(chat_id, [asyncio.Lock(), 0])
        turn[1] += 1
        try:
            async with turn[0]:
                yield
        finally:
            turn[1] -= 1
            if turn[1] == 0:
                del self._turns[chat_id]

    # --- files ----------------------------------------------------------------------------

    async def take_file(self, incoming: Incoming) -> None:
        """Fetch and clean the offered file if the dialogue wants it (`incoming.upload`)."""
        room = await sync_to_async(dialogue.file_room)(incoming)
        if room is None:
            return  # not wanted now: never downloaded, the dialogue says why
        offer = incoming.file
        over = "too_large" if (offer.size or 0) > settings.ATTACHMENT_MAX_BYTES else "total"
        if offer.size is not None and offer.size > room.bytes:
            incoming.upload = Upload(size=offer.size, refusal=over)
            return
        data = await self.download(offer.file_id, room.bytes)
        if isinstance(data, int):
            over = "too_large" if data > settings.ATTACHMENT_MAX_BYTES else "total"
            incoming.upload = Upload(size=data, refusal=over)
            return
        if data is None:
            incoming.upload = Upload(refusal="unfetched")
            return
        loop = asyncio.get_running_loop()
        incoming.upload = await loop.run_in_executor(
            self._cleaners, dialogue.clean_file, data, room.language
        )

    async def download(self, file_id: str, limit: int) -> bytes | int | None:
        """
        The file's bytes, read into memory only; past `limit` the reading stops
        and the size seen so far is returned instead; None if it cannot be had.
        """
        file = await self.call(GetFile(file_id=file_id), attempts=3)
        if file is None or not file.file_path:
            return None
        if file.file_size is not None and file.file_size > limit:
            return file.file_size
        url = self.bot.session.api.file_url(self.bot.token, file.file_path)
        received = bytearray()
        stream = self.bot.session.stream_content(
            url, timeout=self.request_timeout, chunk_size=DOWNLOAD_CHUNK, raise_for_status=True
        )
        try:
            async with contextlib.aclosing(stream):
                async for chunk in stream:
                    received += chunk
                    if len(received) > limit:
                        return len(received)  # the rest is never read
        except Exception as error:
            # The URL holds the token: only the kind of error is logged.
            logger.warning("telegram: a file could not be downloaded (%s)", type(error).__name__)
            return None
        return bytes(received)

    async def deliver(self, chat_id: int, callback_id: str | None, outcome: Outcome) -> None:
        if callback_id is not None:
            # Stops the button's spinner; it expires soon, so two tries only.
            answer = AnswerCallbackQuery(callback_query_id=callback_id, text=outcome.answer or None)
            await self.call(answer, attempts=2)
        for reply in outcome.replies:
            markup = keyboard(reply.buttons)
            if reply.edit is not None:
                # A nicety (the answered question loses its buttons): no long retries.
                method = EditMessageText(
                    chat_id=chat_id, message_id=reply.edit, text=reply.text, reply_markup=markup
                )
                await self.call(method, attempts=2)
                continue
            sent = await self.call(
                SendMessage(chat_id=chat_id, text=reply.text, reply_markup=markup)
            )
            if sent is None:
                # Later replies would arrive out of order; a held receipt goes out
                # with the chat's next update.
                return
            if reply.receipt:
                await sync_to_async(dialogue.receipt_delivered)(chat_id)

    # --- long polling ------------------------------------------------------------------------

    async def start(self) -> str:
        """Check the token (getMe) and return the bot's username."""
        me = await self.call_until_done(GetMe())
        return me.username if me is not None else ""

    async def poll(self, drain: bool = False) -> None:
        """
        Handle updates until told to stop; with `drain`, until none is waiting.
        The offset passes an update only once it is handled.
        """
        await self.call_until_done(DeleteWebhook(drop_pending_updates=False))
        offset: int | None = None
        backoff, failures = Backoff(RETRY), 0
        # Updates in hand (handled concurrently, a turn per chat), and the
        # highest update taken so far: Telegram forgets an update once the
        # offset passes it, so the offset never passes one still in hand.
        in_hand: dict[int, asyncio.Task] = {}
        newest: int | None = None
        while not self.stopping.is_set():
            request = GetUpdates(
                offset=offset, timeout=0 if drain else POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
            )
            try:
                updates = await self._unless_stopping(
                    self.bot(request, request_timeout=self.request_timeout + request.timeout)
                )
            except _Stopped:
                break
            except TelegramUnauthorizedError:
                raise BotFailure("Telegram refused the token: check TELEGRAM_BOT_TOKEN.") from None
            except Exception as error:
                failures += 1
                if self.patience is not None and failures >= self.patience:
                    raise BotFailure("the Bot API did not answer getUpdates") from None
                delay = next(backoff)
                logger.warning(
                    "telegram: getUpdates failed (%s); next in %.1f s", type(error).__name__, delay
                )
                await self._sleep_unless_stopping(delay)
                continue
            backoff, failures = Backoff(RETRY), 0
            fresh = [u for u in updates if newest is None or u.update_id > newest]
            for update in fresh:
                in_hand[update.update_id] = asyncio.ensure_future(self.handle_update(update))
                newest = update.update_id
            if drain and not fresh and not in_hand:
                break
            if not fresh and in_hand:
                # Only updates in hand came back: wait for one to be done.
                await self._unless_stopping_quietly(
                    asyncio.wait(
                        set(in_hand.values()),
                        timeout=IN_HAND_WAIT,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                )
            else:
                await asyncio.sleep(0)  # the new updates' turns start in order
            offset = self._settle(in_hand, newest, offset)
        if in_hand:
            # Stop after the updates in hand.
            await asyncio.wait(set(in_hand.values()))
            offset = self._settle(in_hand, newest, offset)
        if offset is not None:
            # Tell Telegram what was handled; limit=1 so nothing new is taken on.
            confirm = GetUpdates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
            await self.call(confirm, attempts=2)

    @staticmethod
    def _settle(in_hand: dict, newest: int | None, offset: int | None) -> int | None:
        """Forget the updates done (re-raising a BotFailure); the offset to confirm."""
        for update_id, task in list(in_hand.items()):
            if task.done():
                del in_hand[update_id]
                task.result()
        if in_hand:
            return min(in_hand)
        return newest + 1 if newest is not None else offset

    async def _unless_stopping_quietly(self, call: Awaitable) -> None:
        with contextlib.suppress(_Stopped):
            await self._unless_stopping(call)

    async def _unless_stopping(self, call: Awaitable):
        task = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(self.stopping.wait())
        done, _pending = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if task in done:
            return task.result()
        task.cancel()
        # Cancelled on purpose: whatever it would have returned no longer matters.
        with contextlib.suppress(BaseException):
            await task
        raise _Stopped

    # --- webhook -------------------------------------------------------------------------------

    async def serve_webhook(self, url: str, secret: str, listen: str) -> None:
        """Receive updates on `listen` (behind the TLS proxy) until told to stop."""
        host, port = listen.rsplit(":", 1)
        app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
        app.router.add_post(urlsplit(url).path or "/", self._webhook_view(secret))
        # No access log: it would record Telegram's requests to no purpose.
        server = web.AppRunner(app, access_log=None, handle_signals=False)
        await server.setup()
        try:
            await web.TCPSite(server, host, int(port)).start()
            webhook = SetWebhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            await self.call_until_done(webhook)
            await self.stopping.wait()
        finally:
            await server.cleanup()

    def _webhook_view(self, secret: str):
        expected = secret.encode()

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
            if not secrets.compare_digest(given, expected):
                return web.Response(status=401)
            try:
                update = Update.model_validate(await request.json(), context={"bot": self.bot})
            except Exception:
                # Never echoed or logged: a malformed body may still hold a person's text.
                return web.Response(status=400)
            # 200 only once handled: if the bot stops first, Telegram sends it again.
            await self.handle_update(update)
            return web.json_response({})

        return receive

    # --- the process ---------------------------------------------------------------------------

    async def run(self, *, webhook: dict | None = None, drain: bool = False) -> str:
        """
        Start, receive updates until stopped (`request_stop`) or, with `drain`,
        until none is waiting; close the session. Returns the bot's username.
        """
        self._loop = asyncio.get_running_loop()
        if drain:
            self.patience = DRAIN_ATTEMPTS
        try:
            username = await self.start()
            mode = "webhook" if webhook else "polling"
            logger.info("telegram: bot @%s started (%s)", username, mode)
            if webhook:
                await self.serve_webhook(**webhook)
            else:
                await self.poll(drain=drain)
            return username
        finally:
            self._cleaners.shutdown(wait=False, cancel_futures=True)
            await self.bot.session.close()
            # The worker thread's database connections end with the bot.
            await sync_to_async(_tidy_connections)(close=True)


class _Stopped(Exception):
    pass
