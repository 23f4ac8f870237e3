"""
The bot's conversation as plain code: one update in, the replies out.

`handle(incoming)` decides everything: the questions of the web form one by
one (inline buttons for choices, free text for the situation), a summary, the
submission through the same intake service as the form (channel `telegram`)
and the receipt; `/status` with a receipt code for the status, the thread and
a message to the caseworkers. It knows nothing of the Bot API: `runner` turns
updates into `Incoming` and `Outcome` into API calls.

The chat id is used only to find this chat's sealed state in the cache
(telegram_bot.memory) and is never stored, logged or put in a task. Answers
are checked by the web form's own fields, so both enforce one set of rules.

Photos and documents are taken after the situation (an optional step, not one
of the numbered questions) and with a follow-up message in /status. The runner
asks `file_room` whether the chat takes a file now and how many bytes it may
have, downloads and cleans it off the event loop, and hands `handle` the
result (`Upload`): a clean copy, held in memory until Send (memory.HeldFiles),
or a refusal said in the person's language while everything typed is kept.
The file's name, its declared type and Telegram's file id are never kept.
"""

import logging
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.formats import date_format

from core.ratelimit import Rate
from intake.attachments.clean import Refused, clean
from intake.forms import ReceiptForm, RequesterMessageForm, RequestForm, urgent_help_text
from intake.messages import thread_owner
from intake.services import (
    MessageBudgetSpent,
    RequestRecord,
    find_by_receipt,
    post_requester_message,
    requester_thread,
    submit_request,
)
from intake.vocabulary import Channel, Language
from telegram_bot import texts
from telegram_bot.memory import (
    HELD_BYTES_CEILING,
    HELD_FILES,
    ChatMemory,
    count_everyone,
    sweep_held_files,
)

logger = logging.getLogger(__name__)

# Telegram takes at most 4096 characters a message.
MAX_TEXT = 4000
THREAD_SHOWN = 20
SUMMARY_NARRATIVE = 600
CHECK = "✓"

QUESTIONS = (
    "category",
    "service_status",
    "location",
    "urgency",
    "legal_articles",
    "narrative",
    "contact",
    "alias",
)
# The order of the request dialogue: the questions, with the optional files
# after the situation (not numbered: "Question 6 of 8" stays the form's count).
STEPS = (*QUESTIONS[:6], "attachments", *QUESTIONS[6:])
# Where a photo or a document is taken: the files step, and a follow-up message.
FILE_STEPS = ("attachments", "message", "message_code")
SINGLE_CHOICE = ("category", "service_status", "location", "urgency")
OPTIONAL_TEXT = ("contact", "alias")
# Callback data is "<prefix>:<value>"; each step accepts only its own prefix,
# so a button left over from an earlier question does nothing.
PREFIX = {
    "category": "cat",
    "service_status": "svc",
    "location": "loc",
    "urgency": "urg",
    "legal_articles": "art",
    "narrative": "nar",
    "attachments": "fil",
    "contact": "con",
    "alias": "ali",
    "summary": "sum",
    "thread": "st",
    "message": "msg",
    "message_code": "msg",
}
# Language names are written in their own language, whatever the chat's language.
LANGUAGE_BUTTONS = (("Русский", Language.RUSSIAN.value), ("English", Language.ENGLISH.value))


@dataclass(repr=False)
class FileOffer:
    """A photo or document as Telegram announces it: what to fetch and its size.
    The file's name and declared type are not even read."""

    file_id: str
    size: int | None = None

    def __repr__(self) -> str:
        return "<FileOffer>"


@dataclass(repr=False)
class Upload:
    """What became of an offered file: a clean copy, or why it was not taken."""

    cleaned: object | None = None
    size: int = 0  # bytes received
    weight: int = 0  # bytes the clean copy holds in memory
    refusal: str = ""  # "too_large", "total", "unfetched", "refused" (messages say why)
    messages: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return "<Upload>"


@dataclass(repr=False)
class FileRoom:
    """A file is wanted: at most this many bytes, refusals in this language."""

    bytes: int
    language: str


@dataclass(repr=False)
class Incoming:
    """One update, reduced to what the dialogue needs. Never logged (no repr)."""

    chat_id: int
    update_id: int
    text: str | None = None  # a text message, commands included
    data: str | None = None  # a pressed button's callback data
    message_id: int | None = None  # the message whose button was pressed
    private: bool = True
    file: FileOffer | None = None  # a photo (its largest size within the limit) or a document
    caption: str | None = None  # the text sent with the file
    upload: Upload | None = None  # set by the runner when the file was wanted

    def __repr__(self) -> str:
        return "<Incoming>"


@dataclass
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        self.label = str(self.label)


@dataclass(repr=False)
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    edit: int | None = None  # change this message instead of sending a new one
    receipt: bool = False  # delivering it completes a submission

    def __post_init__(self) -> None:
        self.text = str(self.text)

    def __repr__(self) -> str:
        return "<Reply>"


@dataclass(repr=False)
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    answer: str = ""  # shown briefly when a button was pressed

    def __post_init__(self) -> None:
        self.answer = str(self.answer)


def handle(incoming: Incoming) -> Outcome:
    """Everything the bot does with one update. Never raises."""
    if not incoming.private:
        return _outside_private_chat(incoming)
    language = Language.RUSSIAN.value
    try:
        sweep_held_files()
        memory = ChatMemory(incoming.chat_id)
        if memory.seen(incoming.update_id):
            # Redelivered (the bot stopped before Telegram heard it was handled).
            return Outcome()
        language = memory.language(default=language)
        with translation.override(language):
            conversation = Conversation(memory, incoming, language)
            outcome = conversation.respond()
    except Exception as error:
        _log_failure("an update could not be handled", error)
        with translation.override(language):
            return Outcome([Reply(texts.UNAVAILABLE)], answer=texts.UNAVAILABLE)
    # Separately: whatever happens here, a receipt in the outcome must go out.
    try:
        memory.mark_seen(incoming.update_id)
        if conversation.language != Language.RUSSIAN:
            memory.keep_language(conversation.language)
    except Exception as error:
        _log_failure("an update could not be marked as handled", error)
    return outcome


def max_files() -> int:
    return settings.ATTACHMENT_MAX_FILES


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def file_room(incoming: Incoming) -> FileRoom | None:
    """
    Whether this chat's dialogue takes the offered file now, and how many bytes
    it may have (the per-file limit, or what the request's total leaves). None:
    not now (a wrong step, five files held, the bot busy), and `handle` says
    why without the file ever being downloaded. Never raises.
    """
    if not incoming.private or incoming.file is None:
        return None
    try:
        memory = ChatMemory(incoming.chat_id)
        if memory.seen(incoming.update_id):
            return None
        rate = Rate.parse(settings.TELEGRAM_FLOOD_LIMIT)
        if rate is not None and memory.peek("updates") >= rate.count:
            return None
        state = memory.dialogue()
        if state is None or state.get("step") not in FILE_STEPS:
            return None
        if len(memory.held_files(state)) >= max_files():
            return None
        if HELD_FILES.weight() >= HELD_BYTES_CEILING:
            return None
        left = settings.ATTACHMENT_MAX_TOTAL - memory.held_bytes(state)
        room = min(settings.ATTACHMENT_MAX_BYTES, left)
        if room <= 0:
            return None
        return FileRoom(room, memory.language(default=Language.RUSSIAN.value))
    except Exception as error:
        _log_failure("a file's room could not be checked", error)
        return None


def clean_file(data: bytes, language: str) -> Upload:
    """
    Make the clean copy of a downloaded file (slow: the cleaner's child process
    decodes it). Runs in a thread of its own, never on the bot's event loop and
    never in the dialogue's thread. Refusals come back in `language`.
    """
    with translation.override(language):
        try:
            cleaned = clean(data)
        except Refused as refused:
            return Upload(size=len(data), refusal="refused", messages=[str(refused.message)])
        except Exception as error:
            _log_failure("a file could not be cleaned", error)
            return Upload(size=len(data), refusal="refused")
    weight = sum(len(page.data) for page in cleaned.pages)
    return Upload(cleaned=cleaned, size=len(data), weight=weight)


def receipt_delivered(chat_id: int) -> None:
    """The receipt reached the chat: forget the copy kept in case it had not."""
    try:
        ChatMemory(chat_id).receipt_delivered()
    except Exception as error:
        _log_failure("a delivered receipt could not be forgotten", error)


def _log_failure(what: str, error: Exception) -> None:
    # Where it happened, never the message: exception texts can quote values.
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    place = f" at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else ""
    logger.warning("telegram: %s (%s%s)", what, type(error).__name__, place)


def _outside_private_chat(incoming: Incoming) -> Outcome:
    # In a group the bot answers only commands and buttons, and keeps nothing.
    if incoming.data is not None or (incoming.text or "").startswith("/"):
        with translation.override(Language.RUSSIAN):
            return Outcome([Reply(texts.PRIVATE_ONLY)], answer=texts.PRIVATE_ONLY)
    return Outcome()


def _field(name: str):
    return RequestForm.base_fields[name]


def _choice_label(name: str, value: str) -> str:
    return str(dict(_field(name).choices).get(value, value))


def _grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _error_text(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def _pack(parts: list[str]) -> list[str]:
    """Join parts into as few messages as fit Telegram's size, splitting long parts."""
    pieces = [part[i : i + MAX_TEXT] for part in parts for i in range(0, len(part) or 1, MAX_TEXT)]
    messages, current = [], ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > MAX_TEXT:
            messages.append(current)
            current = ""
        current = f"{current}\n\n{piece}" if current else piece
    return [*messages, current] if current else messages


class Conversation:
    """One update's worth of dialogue with one chat."""

    def __init__(self, memory: ChatMemory, incoming: Incoming, language: str) -> None:
        self.memory = memory
        self.incoming = incoming
        self.language = language
        self.state = memory.dialogue()

    def respond(self) -> Outcome:
        flood = self._flood_check()
        if flood is not None:
            return flood
        outcome = self._dispatch()
        code = self._held_receipt()
        if code and not any(reply.receipt for reply in outcome.replies):
            outcome.replies.insert(0, Reply(texts.RECEIPT_AGAIN % {"code": code}, receipt=True))
        return outcome

    def _held_receipt(self) -> str | None:
        try:
            return self.memory.held_receipt()
        except Exception as error:
            _log_failure("a held receipt could not be read", error)
            return None

    def _dispatch(self) -> Outcome:
        incoming = self.incoming
        if incoming.data is not None:
            return self.pressed(incoming.data)
        if incoming.file is not None:
            return self.file_sent()
        if incoming.text is None:
            return self.reply(texts.NOT_TEXT, *self.current_question())
        if incoming.text.startswith("/"):
            return self.command(incoming.text)
        return self.typed(incoming.text)

    def _flood_check(self) -> Outcome | None:
        rate = Rate.parse(settings.TELEGRAM_FLOOD_LIMIT)
        count = self.memory.count("updates", rate)
        if rate is None or count <= rate.count:
            return None
        # One warning per window; after it, updates are dropped without a word.
        warning = [Reply(texts.SLOW_DOWN)] if count == rate.count + 1 else []
        return Outcome(warning, answer=texts.SLOW_DOWN)

    def over(self, scope: str, per_chat: str, overall: str = "") -> str:
        """Which limit this update is past: "chat", "everyone", or "" for none
        (each is answered in its own words)."""
        rate = Rate.parse(per_chat)
        if rate and self.memory.count(scope, rate) > rate.count:
            return "chat"
        ceiling = Rate.parse(overall)
        if ceiling and count_everyone(scope, ceiling) > ceiling.count:
            logger.warning("telegram: the overall %s ceiling is reached", scope)
            return "everyone"
        return ""

    # --- small helpers ------------------------------------------------------------

    def reply(self, text, *more: Reply, answer="") -> Outcome:
        return Outcome([Reply(text), *more], answer=answer)

    def save(self, state: dict) -> None:
        self.state = state
        self.memory.keep_dialogue(state)

    def forget(self) -> None:
        self.state = None
        self.memory.forget_dialogue()

    def current_question(self) -> list[Reply]:
        if self.state is None:
            return []
        if self.state["mode"] == "request":
            return [self.question(self.state["step"])]
        if self.state["step"] == "code":
            return [Reply(texts.ASK_CODE)]
        if self.state["step"] == "message":
            return [self.ask_message()]
        if self.state["step"] == "message_code":
            return [self.ask_code_to_send()]
        return [Reply(texts.USE_BUTTONS, buttons=self.thread_buttons())]

    # --- commands --------------------------------------------------------------------

    def command(self, text: str) -> Outcome:
        word, _space, rest = text.strip().partition(" ")
        name = word[1:].split("@", 1)[0].lower()
        if name == "start":
            self.memory.forget_files(None)
            self.save({"mode": "request", "step": QUESTIONS[0], "answers": {}})
            return self.reply(texts.INTRO, self.question(QUESTIONS[0]))
        if name == "cancel":
            self.forget()
            return self.reply(texts.CANCELLED)
        if name == "lang":
            buttons = [[Button(label, f"lang:{code}")] for label, code in LANGUAGE_BUTTONS]
            return Outcome([Reply(texts.CHOOSE_LANGUAGE, buttons=buttons)])
        if name == "status":
            self.memory.forget_files(None)
            self.save({"mode": "status", "step": "code"})
            if rest.strip():
                return self.lookup(rest)
            return self.reply(texts.ASK_CODE)
        if name == "help":
            return self.reply(texts.HELP)
        return self.reply(f"{texts.UNKNOWN_COMMAND}\n\n{texts.HELP}")

    def choose_language(self, value: str) -> Outcome:
        if value not in Language.values:
            return Outcome(answer=texts.OLD_BUTTON)
        self.language = value
        self.memory.keep_language(value)
        with translation.override(value):
            chosen = dict((code, label) for label, code in LANGUAGE_BUTTONS)[value]
            edit = Reply(
                f"{texts.CHOOSE_LANGUAGE}\n\n{CHECK} {chosen}", edit=self.incoming.message_id
            )
            follow = self.current_question() or [Reply(texts.HELP)]
            return Outcome([edit, Reply(texts.LANGUAGE_SET), *follow])

    # --- buttons ---------------------------------------------------------------------

    def pressed(self, data: str) -> Outcome:
        prefix, _colon, value = data.partition(":")
        if prefix == "lang":
            return self.choose_language(value)
        if self.state is None:
            return self.reply(texts.EXPIRED, answer=texts.OLD_BUTTON)
        if prefix != PREFIX.get(self.state["step"]):
            return Outcome(answer=texts.OLD_BUTTON)
        step = self.state["step"]
        if step in SINGLE_CHOICE:
            return self.chose(step, value)
        handlers = {
            "legal_articles": self.ticked,
            "narrative": self.narrative_done,
            "attachments": self.files_done,
            "contact": self.skipped,
            "alias": self.skipped,
            "summary": self.summary_pressed,
            "thread": self.thread_pressed,
            "message": self.message_pressed,
            "message_code": self.message_pressed,
        }
        return handlers[step](value)

    def chose(self, step: str, value: str) -> Outcome:
        if not _field(step).valid_value(value):
            return Outcome(answer=texts.OLD_BUTTON)
        self.state["answers"][step] = value
        answered = f"{self.question(step).text}\n\n{CHECK} {_choice_label(step, value)}"
        return self.advance(Reply(answered, edit=self.incoming.message_id))

    def ticked(self, value: str) -> Outcome:
        chosen = self.state["answers"].setdefault("legal_articles", [])
        if value == "done":
            labels = [_choice_label("legal_articles", v) for v in chosen] or [texts.NO_ARTICLES]
            lines = "\n".join(f"{CHECK} {label}" for label in labels)
            answered = f"{self.question('legal_articles').text}\n\n{lines}"
            return self.advance(Reply(answered, edit=self.incoming.message_id))
        if not _field("legal_articles").valid_value(value):
            return Outcome(answer=texts.OLD_BUTTON)
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
        self.save(self.state)
        question = self.question("legal_articles")
        question.edit = self.incoming.message_id
        return Outcome([question])

    def narrative_done(self, value: str) -> Outcome:
        if value != "done" or not self.state["answers"].get("narrative"):
            return Outcome(answer=texts.OLD_BUTTON)
        return self.advance()

    def files_done(self, value: str) -> Outcome:
        if value != "done":
            return Outcome(answer=texts.OLD_BUTTON)
        return self.advance()

    def skipped(self, value: str) -> Outcome:
        if value != "skip":
            return Outcome(answer=texts.OLD_BUTTON)
        self.state["answers"][self.state["step"]] = ""
        return self.advance()

    def advance(self, *before: Reply) -> Outcome:
        """Save the answers and ask the next question (or show the summary)."""
        step = self.state["step"]
        following = STEPS[STEPS.index(step) + 1 :]
        self.state["step"] = following[0] if following else "summary"
        self.save(self.state)
        return Outcome([*before, self.question(self.state["step"])])

    # --- typed text -----------------------------------------------------------------

    def typed(self, text: str) -> Outcome:
        if self.state is None:
            return self.reply(texts.NOTHING_IN_PROGRESS)
        step = self.state["step"]
        if step in ("narrative", "attachments"):
            return self.add_narrative(text)
        if step in OPTIONAL_TEXT:
            return self.optional_text(step, text)
        if step == "code":
            return self.lookup(text)
        if step == "message":
            return self.write(text)
        if step == "message_code":
            return self.send_message(text)
        return self.reply(texts.USE_BUTTONS, *self.current_question())

    def add_narrative(self, text: str) -> Outcome:
        answers = self.state["answers"]
        joined = f"{answers['narrative']}\n\n{text}" if answers.get("narrative") else text
        try:
            answers["narrative"] = _field("narrative").clean(joined)
        except ValidationError as error:
            return self.reply(f"{texts.NOT_ADDED} {_error_text(error)}")
        self.save(self.state)
        if self.state["step"] == "attachments":
            # Typed while files are asked for: part of the situation, never lost.
            return Outcome([Reply(texts.ADDED_TO_SITUATION, buttons=self.files_buttons())])
        done = [[Button(texts.CONTINUE, "nar:done")]]
        return Outcome([Reply(texts.NARRATIVE_ADDED, buttons=done)])

    def optional_text(self, step: str, text: str) -> Outcome:
        try:
            self.state["answers"][step] = _field(step).clean(text)
        except ValidationError as error:
            return self.reply(f"{texts.NOT_SAVED} {_error_text(error)}")
        return self.advance()

    # --- the questions ----------------------------------------------------------------

    def question(self, step: str) -> Reply:
        if step == "summary":
            return self.summary()
        if step == "attachments":
            return self.files_question()
        number = texts.QUESTION_NUMBER % {
            "number": QUESTIONS.index(step) + 1,
            "total": len(QUESTIONS),
        }
        form_field = _field(step)
        text = f"{number}\n{form_field.label}"
        if step in SINGLE_CHOICE:
            if form_field.help_text:
                text = f"{text}\n\n{form_field.help_text}"
            buttons = [
                [Button(label, f"{PREFIX[step]}:{value}")] for value, label in form_field.choices
            ]
            return Reply(text, buttons=buttons)
        if step == "legal_articles":
            return self.articles_question(text)
        if form_field.help_text:
            text = f"{text}\n\n{form_field.help_text}"
        if step == "narrative":
            return Reply(f"{text}\n{texts.SEVERAL_MESSAGES}")
        return Reply(text, buttons=[[Button(texts.SKIP, f"{PREFIX[step]}:skip")]])

    def articles_question(self, text: str) -> Reply:
        chosen = (self.state or {}).get("answers", {}).get("legal_articles", [])
        buttons = [
            [Button(f"{CHECK} {label}" if value in chosen else label, f"art:{value}")]
            for value, label in _field("legal_articles").choices
        ]
        buttons.append([Button(texts.DONE, "art:done")])
        return Reply(f"{text}\n{texts.ARTICLES_HINT}", buttons=buttons)

    def summary(self) -> Reply:
        answers = self.state["answers"]
        lines = [str(texts.SUMMARY_TITLE)]
        for name in SINGLE_CHOICE:
            lines.append(f"{_field(name).label}\n{CHECK} {_choice_label(name, answers[name])}")
        articles = [_choice_label("legal_articles", v) for v in answers.get("legal_articles", [])]
        lines.append(
            f"{_field('legal_articles').label}\n{CHECK} "
            + ("; ".join(articles) if articles else str(texts.NO_ARTICLES))
        )
        for name in OPTIONAL_TEXT:
            lines.append(f"{_field(name).label}\n{answers.get(name) or texts.NOT_GIVEN}")
        narrative = answers.get("narrative", "")
        if len(narrative) > SUMMARY_NARRATIVE:
            narrative = narrative[:SUMMARY_NARRATIVE] + "…"
        lines.append(f"{_field('narrative').label}\n{narrative}")
        notify = texts.NOTIFY_YES if answers.get("notify") else texts.NOTIFY_NO
        lines.append(f"{texts.NOTIFY_QUESTION}\n{CHECK} {notify}\n{texts.NOTIFY_SAFETY}")
        held = len(self.memory.held_files(self.state))
        if held:
            lines.append(str(texts.FILES_IN_SUMMARY % {"count": held}))
        if self.state.get("files", 0) > held:
            lines.append(str(texts.FILES_LOST))
        lines.append(str(texts.SUMMARY_SEND_HINT))
        return Reply("\n\n".join(lines), buttons=self.summary_buttons())

    def summary_buttons(self) -> list[list[Button]]:
        # The reply notice is off unless the requester turns it on (a message
        # from the bot on their phone is itself a trace of contact).
        if (self.state or {}).get("answers", {}).get("notify"):
            toggle = Button(texts.NOTIFY_TURN_OFF, "sum:quiet")
        else:
            toggle = Button(texts.NOTIFY_TURN_ON, "sum:notify")
        return [
            [Button(texts.SEND, "sum:send")],
            [toggle],
            [Button(texts.START_OVER, "sum:restart"), Button(texts.CANCEL, "sum:cancel")],
        ]

    def notify_pressed(self, wanted: bool) -> Outcome:
        self.state["answers"]["notify"] = wanted
        self.save(self.state)
        summary = self.summary()
        summary.edit = self.incoming.message_id
        return Outcome([summary])

    # --- sending the request ------------------------------------------------------------

    def summary_pressed(self, value: str) -> Outcome:
        if value == "restart":
            self.memory.forget_files(None)
            self.save({"mode": "request", "step": QUESTIONS[0], "answers": {}})
            return Outcome([self.question(QUESTIONS[0])])
        if value == "cancel":
            self.forget()
            return self.reply(texts.CANCELLED)
        if value == "send":
            return self.send()
        if value in ("notify", "quiet"):
            return self.notify_pressed(value == "notify")
        return Outcome(answer=texts.OLD_BUTTON)

    def send(self) -> Outcome:
        form = RequestForm(data=self.state["answers"])
        if not form.is_valid():
            self.forget()
            return self.reply(texts.INCOMPLETE)
        limit = self.over("submit", settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT)
        if limit:
            text = texts.TOO_MANY_REQUESTS if limit == "chat" else texts.BUSY
            return self.reply(text, answer=text)
        data = form.cleaned_data
        record = RequestRecord(
            received_at=timezone.now(),
            channel=Channel.TELEGRAM,
            category=data["category"],
            service_status=data["service_status"],
            location=data["location"],
            urgency=data["urgency"],
            legal_articles=list(data["legal_articles"]),
            language=self.language,
            contact=data["contact"].strip(),
            alias=data["alias"].strip(),
            narrative=data["narrative"],
            # Sealed with the request: only a caseworker's reply opens it.
            reply_chat=self.incoming.chat_id if self.state["answers"].get("notify") else None,
        )
        # Everything the answer needs is prepared first: once the request is
        # stored, nothing may stand between it and its receipt.
        sent_summary = f"{self.summary().text}\n\n{CHECK} {texts.SENT_MARK}"
        receipt_text = str(texts.RECEIPT)
        urgent_line = urgent_help_text()
        attachments = self.memory.held_files(self.state)
        try:
            submission = submit_request(record, attachments=attachments)
        except Exception as error:
            _log_failure("a submission failed; the answers are kept for a retry", error)
            retry = Reply(texts.SUBMIT_FAILED, buttons=self.summary_buttons())
            return Outcome([retry], answer=texts.SUBMIT_FAILED)
        code = _grouped(submission.receipt_code)
        self._close_sent_dialogue(code)
        receipt_text = receipt_text % {"code": code}
        if record.urgency == "critical":
            receipt_text = f"{receipt_text}\n\n{urgent_line}"
        replies = [Reply(receipt_text, receipt=True)]
        if self.incoming.message_id:
            replies.insert(0, Reply(sent_summary, edit=self.incoming.message_id))
        return Outcome(replies)

    def _close_sent_dialogue(self, code: str) -> None:
        try:
            # Kept (sealed) until the runner reports it delivered; a redelivered
            # "Send" finds the update seen and the answers gone.
            self.memory.hold_receipt(code)
            self.memory.mark_seen(self.incoming.update_id)
            self.forget()
        except Exception as error:
            _log_failure("a sent request's dialogue could not be closed", error)

    # --- following up with a receipt code -------------------------------------------------
    #
    # The code is used in the update that carries it and never kept: the cache
    # (sealed under a key that ENCRYPTION_KEY and the chat id give back) would
    # otherwise hand it to whoever holds the server and a suspect's Telegram id.
    # So writing to the caseworkers asks for it again, after the message.

    def too_many_lookups(self) -> Outcome | None:
        limit = self.over("status", settings.STATUS_RATE_LIMIT, settings.STATUS_GLOBAL_LIMIT)
        if not limit:
            return None
        return self.reply(texts.TOO_MANY_LOOKUPS if limit == "chat" else texts.LOOKUPS_BUSY)

    def lookup(self, typed: str) -> Outcome:
        refused = self.too_many_lookups()
        if refused is not None:
            return refused
        form = ReceiptForm(data={"code": typed})
        help_request = find_by_receipt(form.cleaned_data["code"]) if form.is_valid() else None
        if help_request is None:
            # The same words whatever was wrong: malformed, unknown or mistyped.
            return self.reply(texts.NOT_FOUND)
        self.save({"mode": "status", "step": "thread"})
        return Outcome(self.thread(help_request, form.cleaned_data["code"]))

    def thread(self, help_request, code: str) -> list[Reply]:
        """The status in plain words and the messages, as the status page shows them:
        opened with the key the receipt code gives (the server holds none)."""
        received = date_format(timezone.localtime(help_request.received_at), "j E Y")
        parts = [
            f"{texts.STATE_WORDS.get(thread_owner(help_request).case.state, '')}\n"
            f"{texts.SENT_ON % {'date': received}}",
            f"{texts.THREAD_TITLE}:",
        ]
        messages = requester_thread(help_request, code)
        if len(messages) > THREAD_SHOWN:
            parts.append(str(texts.EARLIER_NOT_SHOWN % {"count": len(messages) - THREAD_SHOWN}))
        for message in messages[-THREAD_SHOWN:]:
            who = texts.FROM_CASEWORKER if message.from_staff else texts.FROM_YOU
            when = date_format(timezone.localtime(message.sent_at), "j E, H:i")
            text = message.text if message.text is not None else texts.KEPT_FOR_CASEWORKERS
            parts.append(f"{who} · {when}\n{text}")
        if not messages:
            parts.append(str(texts.NO_MESSAGES))
        replies = [Reply(text) for text in _pack(parts)]
        replies[-1].buttons = self.thread_buttons()
        return replies

    def thread_buttons(self) -> list[list[Button]]:
        return [[Button(texts.WRITE, "st:write")], [Button(texts.DONE, "st:done")]]

    def thread_pressed(self, value: str) -> Outcome:
        if value == "write":
            self.state["step"] = "message"
            self.save(self.state)
            return Outcome([self.ask_message()])
        if value == "done":
            self.forget()
            return self.reply(texts.STATUS_DONE)
        return Outcome(answer=texts.OLD_BUTTON)

    def ask_message(self) -> Reply:
        text = f"{texts.ASK_MESSAGE}\n{texts.FILES_WITH_MESSAGE % self.limits()}"
        return Reply(text, buttons=[[Button(texts.CANCEL, "msg:cancel")]])

    def message_pressed(self, value: str) -> Outcome:
        if value == "files" and self.state["step"] == "message":
            # Files alone, without a written message: the code is asked next.
            if not self.memory.held_files(self.state):
                return Outcome(answer=texts.OLD_BUTTON)
            self.save({**self.state, "step": "message_code", "message": ""})
            return Outcome([self.ask_code_to_send()])
        if value != "cancel":
            return Outcome(answer=texts.OLD_BUTTON)
        self.memory.forget_files(None)
        self.save({"mode": "status", "step": "thread"})
        return Outcome([Reply(texts.USE_BUTTONS, buttons=self.thread_buttons())])

    def write(self, text: str) -> Outcome:
        """The message to send; the receipt code is asked for next."""
        try:
            body = RequesterMessageForm.base_fields["body"].clean(text)
        except ValidationError as error:
            return self.reply(f"{texts.NOT_SAVED} {_error_text(error)}")
        self.save({**self.state, "step": "message_code", "message": body})
        return Outcome([self.ask_code_to_send()])

    def ask_code_to_send(self) -> Reply:
        return Reply(texts.ASK_CODE_TO_SEND, buttons=[[Button(texts.CANCEL, "msg:cancel")]])

    def send_message(self, typed: str) -> Outcome:
        """The receipt code for the message waiting: sent if the code opens a request."""
        refused = self.too_many_lookups()
        if refused is not None:
            return refused
        form = ReceiptForm(data={"code": typed})
        help_request = find_by_receipt(form.cleaned_data["code"]) if form.is_valid() else None
        if help_request is None:
            # The message waits for a code that opens a request (or Cancel).
            return Outcome([Reply(texts.NOT_FOUND, buttons=[[Button(texts.CANCEL, "msg:cancel")]])])
        attachments = self.memory.held_files(self.state)
        try:
            post_requester_message(help_request, self.state["message"], attachments=attachments)
        except MessageBudgetSpent as spent:
            text = texts.MESSAGES_SPENT_TODAY if spent.for_today else texts.MESSAGES_SPENT
            self.memory.forget_files(None)
            self.save({"mode": "status", "step": "thread"})
            return Outcome([Reply(text, buttons=self.thread_buttons())])
        self.memory.forget_files(None)
        self.save({"mode": "status", "step": "thread"})
        return Outcome([Reply(texts.MESSAGE_SENT, buttons=self.thread_buttons())])

    # --- photos and documents -----------------------------------------------------------

    def limits(self) -> dict:
        return {
            "files": max_files(),
            "each": _megabytes(settings.ATTACHMENT_MAX_BYTES),
            "total": _megabytes(settings.ATTACHMENT_MAX_TOTAL),
        }

    def files_buttons(self) -> list[list[Button]]:
        held = self.memory.held_files(self.state)
        return [[Button(texts.DONE if held else texts.SKIP, "fil:done")]]

    def files_question(self) -> Reply:
        return Reply(texts.ASK_FILES % self.limits(), buttons=self.files_buttons())

    def file_sent(self) -> Outcome:
        """A photo or a document: held for the request or message, or refused saying why."""
        state = self.state
        if state is None:
            return self.reply(texts.FILES_NOT_NOW)
        if state["step"] not in FILE_STEPS:
            text = texts.FILES_LATER if state["mode"] == "request" else texts.FILES_AFTER_WRITE
            return self.reply(text, *self.current_question())
        upload = self.incoming.upload
        held_bytes = self.memory.held_bytes(state)
        if len(self.memory.held_files(state)) >= max_files():
            refused = texts.TOO_MANY_FILES % self.limits()
        elif upload is None:
            full = held_bytes >= settings.ATTACHMENT_MAX_TOTAL
            refused = texts.FILES_TOTAL_TOO_LARGE % self.limits() if full else texts.FILES_BUSY
        elif upload.refusal or upload.cleaned is None:
            refused = self.refusal_text(upload)
        elif held_bytes + upload.size > settings.ATTACHMENT_MAX_TOTAL:
            refused = texts.FILES_TOTAL_TOO_LARGE % self.limits()
        else:
            refused = ""
        if refused:
            replies = [Reply(f"{refused} {texts.ANSWERS_KEPT}")]
        else:
            count = self.memory.hold_file(state, upload.cleaned, upload.size, upload.weight)
            replies = [Reply(texts.FILE_RECEIVED % {"count": count, "files": max_files()})]
        # The text sent with it is kept whether the file was taken or not.
        note = self.take_caption()
        if note:
            replies.append(Reply(note))
        self.save(self.state)
        return Outcome([*replies, *self.after_file()])

    def refusal_text(self, upload: Upload) -> str:
        if upload.refusal == "too_large":
            return str(texts.FILE_TOO_LARGE % self.limits())
        if upload.refusal == "total":
            return str(texts.FILES_TOTAL_TOO_LARGE % self.limits())
        if upload.refusal == "unfetched":
            return str(texts.FILE_NOT_RECEIVED)
        return " ".join(upload.messages) or str(texts.FILE_NOT_ACCEPTED)

    def take_caption(self) -> str:
        """
        The text sent with a file counts like typed text: part of the situation,
        or of the message to the caseworkers. Returns a note if it was not taken.
        """
        caption = (self.incoming.caption or "").strip()
        if not caption:
            return ""
        if self.state["mode"] == "request":
            answers = self.state["answers"]
            joined = f"{answers['narrative']}\n\n{caption}" if answers.get("narrative") else caption
            try:
                answers["narrative"] = _field("narrative").clean(joined)
            except ValidationError as error:
                return f"{texts.CAPTION_NOT_ADDED} {_error_text(error)}"
            return str(texts.CAPTION_ADDED)
        written = self.state.get("message")
        joined = f"{written}\n\n{caption}" if written else caption
        try:
            self.state["message"] = RequesterMessageForm.base_fields["body"].clean(joined)
        except ValidationError as error:
            return f"{texts.CAPTION_NOT_ADDED} {_error_text(error)}"
        self.state["step"] = "message_code"
        return ""

    def after_file(self) -> list[Reply]:
        """What to do next, once a file was taken or refused."""
        step = self.state["step"]
        if step == "attachments":
            return [Reply(texts.MORE_FILES, buttons=self.files_buttons())]
        if step == "message":
            buttons = [
                [Button(texts.FILES_ONLY, "msg:files")],
                [Button(texts.CANCEL, "msg:cancel")],
            ]
            if not self.memory.held_files(self.state):
                buttons = buttons[1:]
            return [Reply(texts.NOW_WRITE, buttons=buttons)]
        return [self.ask_code_to_send()]
