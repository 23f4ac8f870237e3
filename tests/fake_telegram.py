"""
A fake Telegram Bot API server for the bot's tests: a small threaded HTTP
server on 127.0.0.1 (no other network) that serves getMe, getUpdates (long
polling with offset, timeout and limit), sendMessage, editMessageText,
answerCallbackQuery, deleteWebhook, setWebhook, getFile and the file download
(GET /file/bot<token>/<path>, recorded in `downloads`), and records every call.

Tests play the people: `person.says("/start")`, `person.presses("cat:desertion")`
queue updates as Telegram would (a press waits until the bot has sent its
button, so a whole dialogue can be queued at once), and `fake.sent_to(person)`
reads what the bot answered. `person.sends_photo(...)` and
`person.sends_document(...)` upload files as Telegram holds them (a photo in
several sizes). `fake.fail(...)` makes the next calls of a method fail (HTTP
500, a 502 page from a proxy, 429 with retry_after, or an answer slower than
the bot waits), and `fake.go_down()` / `fake.come_back()` refuse connections
and accept them again.
"""

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Tropa", "username": "tropa_test_bot"}


@dataclass
class Person:
    """Someone writing to the bot in a private chat (user id == chat id there)."""

    fake: "FakeBotApi"
    chat_id: int
    username: str
    first_name: str
    chat_type: str = "private"

    def as_user(self) -> dict:
        return {
            "id": self.chat_id,
            "is_bot": False,
            "first_name": self.first_name,
            "username": self.username,
            "language_code": "ru",
        }

    def as_chat(self) -> dict:
        chat = {"id": self.chat_id, "type": self.chat_type}
        if self.chat_type == "private":
            chat.update(first_name=self.first_name, username=self.username)
        else:
            chat["title"] = "Some group"
        return chat

    def says(self, text: str) -> int:
        return self.fake.queue_message(self, {"text": text})

    def sends(self, kind: str) -> int:
        """A sticker, a photo, a document, a voice message or a location."""
        payloads = {
            "sticker": {
                "sticker": {
                    "file_id": "CAACAgIAAxkBAAIB",
                    "file_unique_id": "AgADAgAD",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            "photo": {
                "photo": [
                    {"file_id": "AgACAgIAAxkB", "file_unique_id": "AQAD", "width": 90, "height": 90}
                ],
                "caption": "my unit's papers",
            },
            "document": {
                "document": {"file_id": "BQACAgIAAxkB", "file_unique_id": "AgAD", "file_name": "x"}
            },
            "voice": {
                "voice": {"file_id": "AwACAgIAAxkB", "file_unique_id": "AgAE", "duration": 3}
            },
            "location": {"location": {"latitude": 47.1, "longitude": 37.5}},
        }
        return self.fake.queue_message(self, payloads[kind])

    def sends_photo(self, *sizes: bytes | tuple[bytes, int], caption: str | None = None) -> int:
        """
        A photo, as Telegram sends it: one entry per size, smallest first, each
        its own file (bytes, or (bytes, the file_size Telegram announces)).
        """
        photo = []
        for number, size in enumerate(sizes, 1):
            data, announced = size if isinstance(size, tuple) else (size, len(size))
            file_id = self.fake.add_file(data, "photos", announced)
            side = 90 * number
            photo.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": side,
                    "height": side,
                    "file_size": announced,
                }
            )
        content: dict = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return self.fake.queue_message(self, content)

    def sends_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        announced: int | None = None,
        caption: str | None = None,
    ) -> int:
        """A file sent as a document, with the name and type the person's phone gave it."""
        size = len(data) if announced is None else announced
        file_id = self.fake.add_file(data, "documents", size)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        content: dict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self.fake.queue_message(self, content)

    def presses(self, data: str) -> int:
        """
        Press the newest button with this callback data in the chat, as soon as
        the bot has sent it: like a person, the press waits for the button (and
        the updates after it wait for the press).
        """
        return self.fake.queue_callback(self, None, data)

    def presses_on(self, message: dict, data: str) -> int:
        return self.fake.queue_callback(self, message, data)


@dataclass
class Fault:
    method: str
    kind: str  # "500", "502", "429", "slow"
    times: int


@dataclass
class FakeBotApi:
    token: str
    calls: list = field(default_factory=list)  # every call, failed ones included
    answered: list = field(default_factory=list)  # the calls that succeeded
    pending: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)  # (chat id, message id) -> message
    faults: list = field(default_factory=list)
    slow_seconds: float = 3.0
    files: dict = field(default_factory=dict)  # file id -> (path, bytes, announced size)
    downloads: list = field(default_factory=list)  # file ids whose bytes were fetched
    download_delay: float = 0.0  # seconds before a download's body starts

    def __post_init__(self) -> None:
        self._ids = itertools.count(500_000)
        self._pressers: dict[str, Person] = {}
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._condition = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- the server ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeBotApi":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Each answer in one segment: no Nagle and delayed-ACK pauses.
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

            def log_message(self, *args) -> None:
                pass  # the requests carry the token and chat ids: never printed

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def go_down(self) -> None:
        """Connections are refused until `come_back()` (same port)."""
        self.stop()

    def come_back(self) -> None:
        self.start()

    def fail(self, method: str, kind: str, times: int = 1) -> None:
        self.faults.append(Fault(method, kind, times))

    # --- people and their updates -------------------------------------------------------------

    def add_file(self, data: bytes, folder: str, announced: int) -> str:
        """Keep a file as Telegram would, under a file id and a path; returns the id."""
        number = len(self.files) + 1
        file_id = f"BQACAgIAAxkBAAI{number:04d}Zm9vYmFy"
        self.files[file_id] = (f"{folder}/file_{number}.bin", data, announced)
        return file_id

    def person(self, chat_id: int, username: str, first_name: str, chat_type="private") -> Person:
        return Person(self, chat_id, username, first_name, chat_type)

    def _queue(self, update: dict) -> int:
        with self._condition:
            update["update_id"] = next(self._ids)
            self.pending.append(update)
            self.history[update["update_id"]] = update
            self._condition.notify_all()
        return update["update_id"]

    def queue_message(self, person: Person, content: dict) -> int:
        message = {
            "message_id": next(self._message_ids),
            "from": person.as_user(),
            "chat": person.as_chat(),
            "date": int(time.time()),
            **content,
        }
        if content.get("text", "").startswith("/"):
            command = content["text"].split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._queue({"message": message})

    def queue_callback(self, person: Person, message: dict | None, data: str) -> int:
        """A button press; with no message, the button is looked for when it is handed out."""
        query = {
            "id": str(next(self._callback_ids)),
            "from": person.as_user(),
            "message": message,
            "chat_instance": "-4242",
            "data": data,
        }
        self._pressers[query["id"]] = person
        return self._queue({"callback_query": query})

    def _ready(self, update: dict) -> bool:
        query = update.get("callback_query")
        if query is None or query["message"] is not None:
            return True
        try:
            query["message"] = self.message_with_button(self._pressers[query["id"]], query["data"])
        except LookupError:
            return False
        return True

    def redeliver(self, update_id: int) -> None:
        """Hand out an update again, as Telegram does when it was never confirmed."""
        with self._condition:
            self.pending.append(self.history[update_id])
            self._condition.notify_all()

    # --- what the bot did ---------------------------------------------------------------------

    def calls_of(self, method: str) -> list[dict]:
        return [params for name, params in self.calls if name == method]

    def _texts(self, method: str, person: Person) -> list[str]:
        """Texts that reached the person (calls the fake failed on purpose did not)."""
        return [
            p["text"]
            for name, p in self.answered
            if name == method and int(p["chat_id"]) == person.chat_id
        ]

    def sent_to(self, person: Person) -> list[str]:
        return self._texts("sendMessage", person)

    def edits_in(self, person: Person) -> list[str]:
        return self._texts("editMessageText", person)

    def message_with_button(self, person: Person, data: str) -> dict:
        for (chat_id, _id), message in sorted(self.messages.items(), reverse=True):
            if chat_id != person.chat_id:
                continue
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            if any(button["callback_data"] == data for row in rows for button in row):
                return message
        raise LookupError(f"no message in the chat offers the button {data!r}")

    def buttons_of_last(self, person: Person) -> list[str]:
        chat = [
            m for (chat_id, _id), m in sorted(self.messages.items()) if chat_id == person.chat_id
        ]
        rows = chat[-1].get("reply_markup", {}).get("inline_keyboard", []) if chat else []
        return [button["callback_data"] for row in rows for button in row]

    # --- serving one call ---------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode("utf-8")
        if request.path.startswith("/file/"):
            self._serve_file(request)
            return
        prefix, _, method = request.path.rpartition("/")
        if prefix != f"/bot{self.token}":
            self._respond(
                request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            return
        if request.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = {key: values[-1] for key, values in parse_qs(body).items()}
        for key in ("reply_markup", "allowed_updates"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        self.calls.append((method, params))
        if self._faulty(request, method):
            return
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._respond(
                request, 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            )
            return
        try:
            result = handler(params)
        except KeyError:
            self._refuse(request, 400, "Bad Request: message to edit not found")
            return
        self.answered.append((method, params))
        self._respond(request, 200, {"ok": True, "result": result})

    def _serve_file(self, request: BaseHTTPRequestHandler) -> None:
        """A file's bytes at /file/bot<token>/<path>, as api.telegram.org serves them."""
        prefix = f"/file/bot{self.token}/"
        found = [
            (file_id, data)
            for file_id, (path, data, _announced) in self.files.items()
            if request.path == prefix + path
        ]
        if not found:
            self._refuse(request, 404, "Not Found")
            return
        file_id, data = found[0]
        self.calls.append(("file", {"file_id": file_id}))
        if self._faulty(request, "file"):
            return
        self.downloads.append(file_id)
        time.sleep(self.download_delay)
        self._respond(request, 200, data, "application/octet-stream")

    def _faulty(self, request, method: str) -> bool:
        fault = next((f for f in self.faults if f.method in (method, "*") and f.times > 0), None)
        if fault is None:
            return False
        fault.times -= 1
        if fault.kind == "500":
            self._refuse(request, 500, "Internal Server Error")
        elif fault.kind == "502":
            self._respond(request, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif fault.kind == "429":
            error = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            self._respond(request, 429, error)
        elif fault.kind == "slow":
            time.sleep(self.slow_seconds)
            return False
        return True

    def _refuse(self, request, status: int, description: str) -> None:
        self._respond(
            request, status, {"ok": False, "error_code": status, "description": description}
        )

    def _respond(self, request, status: int, payload, content_type="application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot gave up waiting (a "slow" fault)

    # --- the methods --------------------------------------------------------------------------

    def _api_getMe(self, params: dict) -> dict:
        return BOT_USER

    def _api_deleteWebhook(self, params: dict) -> bool:
        return True

    def _api_setWebhook(self, params: dict) -> bool:
        return True

    def _api_getUpdates(self, params: dict) -> list:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 30)
        with self._condition:
            while True:
                # Everything below the offset is confirmed: Telegram forgets it.
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                ready = []
                for update in sorted(self.pending, key=lambda u: u["update_id"])[:limit]:
                    if not self._ready(update):
                        break  # a press waits for its button, and what follows waits too
                    ready.append(update)
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                self._condition.wait(timeout=remaining)

    def _api_sendMessage(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": params["text"],
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _api_editMessageText(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(self.messages[key], text=params["text"])
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[key] = message
        return message

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        return True

    def _api_getFile(self, params: dict) -> dict:
        path, _data, announced = self.files[params["file_id"]]
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"u{params['file_id']}",
            "file_size": announced,
            "file_path": path,
        }
