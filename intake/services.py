"""
Everything that creates help requests. Each request gets its case in the same
transaction, so there is never a request without a case or the reverse.
"""

import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.services import record
from cases.models import Case, CaseEvent
from cases.selectors import forget_nav_counts, held_bytes
from cases.services import current_flood, hold_during_flood
from cases.workflow import DONE_STATES, CaseState
from core.bulk import (
    adapt_rows,
    adapt_value,
    existing_keys,
    in_list,
    insert_select,
    write_rows,
)
from core.clock import hour_of
from core.ratelimit import Rate
from encryption.access import RequesterKeys
from encryption.content import CannotOpen
from encryption.digests import flood_digest
from encryption.models import KeyEnvelope
from encryption.sealing import Envelope, OrganisationPublicKey, seal_texts
from encryption.server_secrets import server_hmac
from intake import receipts
from intake.attachments.services import save_rows, seal_attachments, stored_objects
from intake.messages import seal_message_keyed
from intake.models import BotToken, BotUsage, HelpRequest, RequestMessage, SubmissionKey
from intake.references import new_reference, reference_key
from intake.vocabulary import URGENCY_RANK, Language

if TYPE_CHECKING:
    from intake.attachments.clean import Cleaned

logger = logging.getLogger(__name__)


@dataclass
class RequestRecord:
    """A request as it arrives, before it is stored; also carries its case's state
    when it comes from another system (CSV import, demo data)."""

    received_at: datetime
    channel: str
    category: str
    service_status: str
    location: str
    urgency: str
    legal_articles: list[str] = field(default_factory=list)
    reference: str = ""
    language: str = Language.RUSSIAN
    contact: str = ""
    alias: str = ""
    narrative: str = ""
    precise_location: str = ""
    unit: str = ""
    state: str = CaseState.NEW
    outcome: str = ""
    resolved_at: datetime | None = None

    def sensitive(self) -> dict[str, str]:
        """What the person wrote: sealed to the organisation before it is stored."""
        return {name: getattr(self, name) for name in SEALED_REQUEST_FIELDS}

    def help_request(self, envelope: Envelope, reference: str = "") -> HelpRequest:
        """The request to store under `reference` (the record's own, else a new one),
        its content sealed under a new key wrapped in `envelope` and bound to the
        reference."""
        return self.sealed_request(envelope, reference)[0]

    def sealed_request(self, envelope: Envelope, reference: str = "") -> tuple[HelpRequest, bytes]:
        """help_request, and the request's key (its attachments are sealed under it)."""
        reference = reference or self.reference or new_reference()
        content_key, sealed, key = seal_texts(HelpRequest, self.sensitive(), envelope, reference)
        values = {
            "reference": reference,
            "received_at": hour_of(self.received_at),
            "channel": self.channel,
            "category": self.category,
            "service_status": self.service_status,
            "location": self.location,
            "urgency": self.urgency,
            "legal_articles": self.legal_articles,
            "language": self.language,
            "content_key": content_key,
            **sealed,
        }
        return HelpRequest(**values), key


SEALED_REQUEST_FIELDS = ("contact", "alias", "narrative", "precise_location", "unit")


@dataclass
class Submission:
    help_request: HelpRequest
    receipt_code: str  # shown once to the requester, never stored


class HoldingFull(Exception):
    """Over the global ceiling with the hold list full (INTAKE_HOLD_LIMIT bytes
    of held requests): nothing is stored, and the sender is told when to try
    again (429), with what they typed kept."""


# The most one request can take in the database: every sealed field at its
# longest (the narrative's 10,000 characters as 4-byte UTF-8), padded, sealed
# and encrypted at rest, with cases.selectors.HELD_ROW_BYTES for its other
# rows (tests/test_flood.py measures a longest request against it).
LONGEST_REQUEST_BYTES = 96 * 1024
DAY = 86400


def hold_limit() -> int:
    """
    How many bytes of held requests the hold list takes before refusing:
    INTAKE_HOLD_LIMIT, or by default a day of floods at the global ceiling's
    rate, each request at its longest.
    """
    if settings.INTAKE_HOLD_LIMIT is not None:
        return settings.INTAKE_HOLD_LIMIT
    ceiling = Rate.parse(settings.INTAKE_GLOBAL_LIMIT) or Rate(600, 3600)
    return ceiling.count * DAY // ceiling.seconds * LONGEST_REQUEST_BYTES


def narrative_digest(flood_id: int, narrative: str) -> str:
    """
    A digest of the narrative as bots repeat it (case, spacing, width and
    invisible characters ignored), to group identical copies held during one
    flood without decrypting them. Keyed with the flood's own key, which lives
    only in the cache while the flood does (encryption.digests.flood_digest),
    and forgotten with the digest when the request is released or rejected.
    """
    text = "".join(ch for ch in narrative if unicodedata.category(ch) != "Cf")
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return flood_digest(flood_id, text)


def submit_request(
    record: RequestRecord,
    *,
    hold: bool = False,
    code: str | None = None,
    attachments: "Sequence[Cleaned]" = (),
) -> Submission:
    """
    Store a new request with its case in state `new` and a receipt code for
    following up, then tell caseworkers (a task that carries only the case id).
    Either everything is stored or nothing is: a receipt is only ever shown for
    a stored request.

    With `hold` (the global ceiling is passed: a flood), the request is stored
    and gets its receipt all the same, but its case is held out of the triage
    queue, and out of notifications, until a caseworker releases it
    (cases.services.hold_during_flood). Once held requests take
    INTAKE_HOLD_LIMIT bytes (hold_limit), HoldingFull is raised and nothing is
    stored.

    `attachments` (cleaned by intake.attachments.services.clean_uploads, before
    this is called: cleaning is slow) are sealed under the request's key and
    stored with it: their objects first, deleted again if the request is not
    stored.
    """
    if hold and held_bytes() >= hold_limit():
        raise HoldingFull
    code = code or receipts.new_code()
    selector, secret = receipts.split(code)
    receipt_hash = receipts.hash_code(code)
    # Sealed to the organisation's public key: from here on, only a caseworker
    # (and, for the messages, this code) can read what the person wrote. A
    # fault while sealing raises SealingFailed before anything is stored.
    envelope = Envelope()
    requester_public = RequesterKeys(selector, secret).public
    for attempt in range(3):
        # Sealed again for each reference tried: the content is bound to it.
        help_request, key = record.sealed_request(envelope, new_reference() if attempt else "")
        help_request.receipt_selector = selector
        help_request.receipt_hash = receipt_hash
        help_request.requester_public_key = requester_public
        sealed = seal_attachments(attachments, key, help_request.reference)
        try:
            with stored_objects(sealed), transaction.atomic():
                envelope.row.save(force_insert=True)
                help_request.save(force_insert=True)
                save_rows(sealed, request=help_request)
                case = _open_case(help_request)
                if hold:
                    flood = current_flood()
                    digest = narrative_digest(flood.pk, record.narrative)
                    hold_during_flood(case, digest, flood)
                else:
                    transaction.on_commit(partial(announce_new_case, case.pk))
            return Submission(help_request, code)
        except IntegrityError:
            # A random reference collided with an older one: draw another.
            if attempt == 2 or record.reference:
                raise
    raise AssertionError("unreachable")


def _open_case(help_request: HelpRequest) -> Case:
    # Every time written here is the request's hour (core.clock), never now.
    received = help_request.received_at
    case = Case.objects.create(
        request=help_request,
        priority=URGENCY_RANK[help_request.urgency],
        created_at=received,
        updated_at=received,
        last_activity_at=received,
    )
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.CREATED, to_state=case.state, at=received
    )
    forget_nav_counts()
    return case


def announce_new_case(case_id: int) -> None:
    """Queue the notification; if the broker is down, the periodic sweep sends it later."""
    from intake.tasks import notify_new_case

    try:
        notify_new_case.delay(case_id)
    except Exception:
        logger.warning("could not queue notification for case %s; the sweep retries it", case_id)


def find_by_receipt(typed: str) -> HelpRequest | None:
    """
    The request this receipt code opens, or None.

    Every lookup does the same hash checks, whether the code is malformed, too
    long, unknown, or right in its selector and wrong in its secret: one keyed
    hash, and while requests with a legacy scrypt hash remain anywhere, one slow
    check per legacy candidate but at least one. So its time does not tell
    whether a selector exists. A legacy hash that opens is replaced with the
    keyed form, so the slow checks end as those requesters come back.
    """
    code = receipts.normalise(typed)
    code_digest = receipts.digest(code or receipts.PLACEHOLDER)
    candidates = _receipt_candidates(code) if code else []
    found = [c for c in candidates if receipts.matches_digest(code_digest, c.receipt_hash)]
    legacy = [c for c in candidates if receipts.is_legacy(c.receipt_hash)]
    for index in range(max(len(legacy), 1 if legacy_receipts_remain() else 0)):
        if index >= len(legacy):
            receipts.waste_legacy_check()
        elif receipts.matches_legacy(receipts.split(code)[1], legacy[index].receipt_hash):
            found.append(legacy[index])
            _upgrade_receipt_hash(legacy[index], code)
    if not found:
        return None
    help_request = HelpRequest.objects.select_related("case").get(pk=found[0].pk)
    if not help_request.requester_public_key:
        # Stored before requester keys existed: from now on, messages are
        # sealed to this requester too (docs/encryption.md, Migration).
        help_request.requester_public_key = RequesterKeys(*receipts.split(code)).public
        HelpRequest.objects.filter(pk=help_request.pk).update(
            requester_public_key=help_request.requester_public_key
        )
    return help_request


@dataclass
class ThreadMessage:
    """One message of a thread as its reader may see it."""

    sender: str
    sent_at: datetime
    text: str | None  # None: not sealed to this reader (sent before they had a key)

    @property
    def from_staff(self) -> bool:
        return self.sender == RequestMessage.Sender.STAFF


def requester_thread(
    help_request: HelpRequest, typed_code: str, shown: int | None = None
) -> list[ThreadMessage]:
    """
    The message thread as the requester reads it with their receipt code: each
    message opened with the key the code gives, which nothing stored does.
    With `shown`, only the newest `shown` messages, oldest first.
    """
    code = receipts.normalise(typed_code)
    if code is None:
        return []
    keys = RequesterKeys(*receipts.split(code))
    messages = help_request.messages.order_by("-sent_at", "-pk")
    if shown is not None:
        messages = messages[:shown]
    return [
        ThreadMessage(message.sender, message.sent_at, _requester_text(keys, message))
        for message in reversed(list(messages))
    ]


def _requester_text(keys: RequesterKeys, message: RequestMessage) -> str | None:
    try:
        return keys.open(message, "body", "requester_key")
    except CannotOpen:
        # Sealed to another requester, or bound to another request (a row moved
        # in the database): shown as not readable here, like a message from
        # before the requester had a key.
        return None


def _receipt_candidates(code: str) -> list[HelpRequest]:
    selector, _secret = receipts.split(code)
    # The exclusions match request_receipt_idx's condition, so the index serves it.
    return list(
        HelpRequest.objects.filter(receipt_selector=selector)
        .exclude(receipt_selector="")
        .exclude(receipt_hash="")
        .only("id", "receipt_hash")
    )


def _upgrade_receipt_hash(help_request: HelpRequest, code: str) -> None:
    HelpRequest.objects.filter(pk=help_request.pk, receipt_hash=help_request.receipt_hash).update(
        receipt_hash=receipts.hash_code(code)
    )


# Whether any legacy receipt hash is left is re-read at most this often.
LEGACY_CHECK_SECONDS = 300
LEGACY_CACHE_KEY = "receipts:legacy-remain"


def legacy_receipts_remain() -> bool:
    """
    Whether requests with a legacy scrypt receipt hash remain, for the whole
    installation (never per selector, so it tells nothing about one code).
    The answer is shared through the cache for a few minutes.
    """

    def look() -> bool:
        return HelpRequest.objects.filter(receipt_hash__startswith=receipts.LEGACY).exists()

    try:
        return cache.get_or_set(LEGACY_CACHE_KEY, look, LEGACY_CHECK_SECONDS)
    except Exception:  # an unreachable cache must not stop a lookup
        return look()


MAX_MESSAGE_LENGTH = 5000


class MessageBudgetSpent(Exception):
    """
    This request has used its messages for now: `for_today` when the day's
    budget is spent (it comes back within a day), otherwise for good (the
    request's whole budget). Each request has its own: a flood through one
    receipt code silences nobody else, and a case's thread stays readable.
    """

    def __init__(self, for_today: bool) -> None:
        super().__init__("the day's messages are spent" if for_today else "no messages left")
        self.for_today = for_today


def check_message_budget(help_request: HelpRequest) -> None:
    """Raise MessageBudgetSpent if this request may not send another message now."""
    mine = RequestMessage.objects.filter(
        request=help_request, sender=RequestMessage.Sender.REQUESTER
    )
    if mine.count() >= settings.REQUESTER_MESSAGES_IN_ALL:
        raise MessageBudgetSpent(for_today=False)
    # Times are whole hours (core.clock): the day is this hour and the 23 before.
    since = hour_of() - timedelta(hours=23)
    if mine.filter(sent_at__gte=since).count() >= settings.REQUESTER_MESSAGES_PER_DAY:
        raise MessageBudgetSpent(for_today=True)


def post_requester_message(
    help_request: HelpRequest, body: str, attachments: "Sequence[Cleaned]" = ()
) -> RequestMessage:
    """
    A message from the requester: encrypted, and the case shows it as unread.
    `attachments` (already cleaned) are sealed under the message's key and
    stored with it, or not at all. A message may be files alone.
    """
    body = body.strip()
    if not body and not attachments:
        raise ValueError("empty message")
    check_message_budget(help_request)
    message = RequestMessage(request=help_request, sender=RequestMessage.Sender.REQUESTER)
    envelope, key = seal_message_keyed(message, body[:MAX_MESSAGE_LENGTH])
    sealed = seal_attachments(attachments, key, help_request.reference)
    with stored_objects(sealed), transaction.atomic():
        envelope.row.save(force_insert=True)
        message.save(force_insert=True)
        save_rows(sealed, request=help_request, message=message)
        # New content restarts the retention clock. Both times are the
        # message's hour; a later activity already recorded is kept.
        # The requester has answered: nobody waits for them any more (the
        # unread marker takes over until a caseworker reads it).
        case = Case.objects.filter(request=help_request)
        if case.filter(state=CaseState.REJECTED).exists():
            # Low priority (cases.selectors.written_after_rejection), and the
            # retention clock goes on: messages cannot keep a rejected case alive.
            case.update(unread_message_at=message.sent_at)
        else:
            case.update(
                unread_message_at=message.sent_at,
                last_activity_at=Greatest("last_activity_at", message.sent_at),
                waiting_since=None,
            )
    forget_nav_counts()
    return message


class RetryKeyReused(Exception):
    """An Idempotency-Key already used for a different request."""


RETRY_KEY_LIFETIME = timedelta(days=1)


def submit_once(
    record: RequestRecord,
    *,
    hold: bool,
    bot: BotToken,
    key: str,
    body: bytes,
    attachments: "Sequence[Cleaned]" = (),
) -> tuple[Submission, bool]:
    """
    A bot's request sent with an Idempotency-Key: stored once, however often the
    bot retries (a timeout, a lost answer). A retry gets the same reference and
    the same receipt code (made again from the key, never stored); True says it
    is a retry. The same key with another body raises RetryKeyReused.
    """
    index = receipts.retry_index(bot.pk, key)
    body_hash = server_hmac(receipts.RETRY_KEY, b"body:" + body).hex()
    code = receipts.code_for_retry(bot.pk, key)
    try:
        with transaction.atomic():
            submission = _earlier_submission(index, body_hash, code)
            if submission:
                return submission, True
            submission = submit_request(record, hold=hold, code=code, attachments=attachments)
            SubmissionKey.objects.create(
                index=index, request=submission.help_request, body=body_hash, created_at=hour_of()
            )
            return submission, False
    except IntegrityError:
        # The same key twice at once: the other one stored it.
        submission = _earlier_submission(index, body_hash, code)
        if submission is None:
            raise
        return submission, True


def earlier_submission(bot: BotToken, key: str, body: bytes) -> Submission | None:
    """
    What an Idempotency-Key already stored, or None; RetryKeyReused when it
    stored another body. Asked before a retry's attachments are cleaned (the
    slow part): submit_once asks again in its transaction, which decides.
    """
    index = receipts.retry_index(bot.pk, key)
    body_hash = server_hmac(receipts.RETRY_KEY, b"body:" + body).hex()
    return _earlier_submission(index, body_hash, receipts.code_for_retry(bot.pk, key))


def _earlier_submission(index: str, body_hash: str, code: str) -> Submission | None:
    earlier = SubmissionKey.objects.filter(index=index).select_related("request").first()
    if earlier is None:
        return None
    if not hmac.compare_digest(earlier.body, body_hash):
        raise RetryKeyReused
    return Submission(earlier.request, code)


def forget_retry_keys(now: datetime | None = None) -> int:
    """Idempotency-Keys older than a day: a retry comes within minutes."""
    cutoff = hour_of(now) - RETRY_KEY_LIFETIME
    return SubmissionKey.objects.filter(created_at__lt=cutoff).delete()[0]


@dataclass
class BatchResult:
    created: int
    # reference -> primary key of requests that were already stored
    existing: dict[str, int]


REQUEST_COLUMNS = (
    "reference", "reference_key", "received_at", "channel", "category", "service_status",
    "location", "urgency", "legal_articles", "language", "content_key", *SEALED_REQUEST_FIELDS,
    "contact_fingerprint", "receipt_selector", "receipt_hash",
)  # fmt: skip
CASE_COLUMNS = (
    "request",
    "state",
    "outcome",
    "priority",
    "resolved_at",
    "closed_at",
    "created_at",
    "updated_at",
    "notified_at",
    "last_activity_at",
    "waiting_since",
)
EVENT_COLUMNS = ("case", "kind", "from_state", "to_state", "outcome", "at")


def _request_row(record: RequestRecord, envelope: Envelope) -> tuple:
    reference = record.reference or new_reference()
    content_key, sealed, _key = seal_texts(HelpRequest, record.sensitive(), envelope, reference)
    return (
        reference,
        reference_key(reference) or "",
        hour_of(record.received_at),
        record.channel,
        record.category,
        record.service_status,
        record.location,
        record.urgency,
        record.legal_articles,
        record.language,
        content_key,
        *(sealed[name] for name in SEALED_REQUEST_FIELDS),
        "",  # fingerprinted when a caseworker's session first meets it
        "",  # imported requests have no receipt code
        "",
    )


def _case_row(record: RequestRecord, now: datetime) -> tuple:
    received = hour_of(record.received_at)
    closed_at = (record.resolved_at or received) if record.state in DONE_STATES else None
    # The request id comes first and is filled in once the request is stored.
    return (
        None,
        record.state,
        record.outcome,
        URGENCY_RANK[record.urgency],
        record.resolved_at,
        closed_at,
        received,
        now,
        now,  # history, not news: nobody is told about imported requests
        closed_at or received,  # the retention clock of a finished case
        # Imported already waiting for the requester: since when is not in the
        # file, so since it was received (flagged as long-waiting rather than never).
        received if record.state == CaseState.WAITING else None,
    )


@dataclass
class PreparedBatch:
    """Rows adapted for the database (sealed, encrypted at rest), not yet stored."""

    references: list[str]
    requests: list[list]
    cases: list[list]
    imported_at: object  # as the database stores it
    # The batch's one envelope: its rows' keys are wrapped under it.
    envelope: KeyEnvelope


def prepare_batch(
    records: Sequence[RequestRecord], organisation: OrganisationPublicKey | None = None
) -> PreparedBatch:
    """
    The CPU-heavy half of storing a batch: seal and encrypt every row. Needs
    only the organisation's public key (looked up when not given).
    """
    now = timezone.now()
    envelope = Envelope(organisation)
    rows = [_request_row(r, envelope) for r in records]
    return PreparedBatch(
        references=[record.reference for record in records],
        requests=adapt_rows(HelpRequest, REQUEST_COLUMNS, rows),
        cases=adapt_rows(Case, CASE_COLUMNS, [_case_row(r, now) for r in records]),
        imported_at=adapt_value(CaseEvent, "at", now),
        envelope=envelope.row,
    )


def write_batch(batch: PreparedBatch) -> BatchResult:
    """
    Store a prepared batch: requests, their cases in the recorded state and an
    `imported` event each, skipping references already stored. The caller holds
    the transaction.
    """
    existing = existing_keys(HelpRequest, "reference", [ref for ref in batch.references if ref])
    fresh = [i for i, reference in enumerate(batch.references) if reference not in existing]
    if fresh:
        batch.envelope.save(force_insert=True)
    request_ids = write_rows(HelpRequest, REQUEST_COLUMNS, [batch.requests[i] for i in fresh])
    case_ids = write_rows(
        Case,
        CASE_COLUMNS,
        [[pk, *batch.cases[i][1:]] for pk, i in zip(request_ids, fresh, strict=True)],
    )
    if case_ids:
        # Each case's `imported` event follows from the case row itself.
        condition, params = in_list("id", case_ids)
        insert_select(
            CaseEvent,
            EVENT_COLUMNS,
            # Reviewed (bandit B608): only identifiers from model metadata enter the SQL.
            f"SELECT id, %s, '', state, outcome, %s FROM cases_case WHERE {condition}",  # noqa: S608 # nosec B608
            [CaseEvent.Kind.IMPORTED.value, batch.imported_at, *params],
        )
    return BatchResult(created=len(request_ids), existing=existing)


def store_batch(records: Sequence[RequestRecord]) -> BatchResult:
    """Store requests recorded elsewhere (CSV import, demo data) in one go."""
    return write_batch(prepare_batch(records))


# --- tokens for the organisation's messaging bots ------------------------------

TOKEN_PREFIX = "tropa_"  # noqa: S105 - a marker, not a secret


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_bot_token(name: str, channel: str, *, actor) -> tuple[BotToken, str]:
    """A new token; the token itself is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        bot = BotToken.objects.create(
            name=name,
            channel=channel,
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=_token_digest(token),
            created_by=actor,
        )
        record("bot.create", actor=actor, target=name, channel=channel)
    return bot, token


def revoke_bot_token(bot: BotToken, *, actor) -> None:
    with transaction.atomic():
        BotToken.objects.filter(pk=bot.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record("bot.revoke", actor=actor, target=bot.name)


def bot_for_token(token: str) -> BotToken | None:
    """The active bot this token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return BotToken.objects.filter(token_hash=_token_digest(token), revoked_at__isnull=True).first()


def count_bot_use(bot: BotToken, *, refused: bool = False) -> None:
    """
    A request this bot submitted, or one that was refused: counted for its hour
    (audited once the hour is over, by audit_bot_usage), and the token's last
    use set to the hour.
    """
    hour, column = hour_of(), "refused" if refused else "requests"
    counted = BotUsage.objects.filter(bot=bot, hour=hour).update(**{column: F(column) + 1})
    if not counted:
        try:
            with transaction.atomic():
                BotUsage.objects.create(bot=bot, hour=hour, **{column: 1})
        except IntegrityError:  # another request of the same hour created it first
            BotUsage.objects.filter(bot=bot, hour=hour).update(**{column: F(column) + 1})
    BotToken.objects.filter(pk=bot.pk).update(last_used_at=hour)


def audit_bot_usage(now: datetime | None = None) -> int:
    """
    One audit entry per bot and finished hour ("api.requests", with the hour
    and the number of requests), then the counts are forgotten. Run by a
    periodic task, so no entry's time follows any request's. Returns the
    number of entries written.
    """
    with transaction.atomic():
        finished = list(
            BotUsage.objects.select_for_update()
            .filter(hour__lt=hour_of(now))
            .select_related("bot")
            .order_by("hour", "bot__name")
        )
        for usage in finished:
            record(
                "api.requests",
                actor=f"bot:{usage.bot.name}",
                hour=usage.hour.isoformat(),
                requests=usage.requests,
                **({"refusals": usage.refused} if usage.refused else {}),
            )
        BotUsage.objects.filter(pk__in=[usage.pk for usage in finished]).delete()
    return len(finished)
