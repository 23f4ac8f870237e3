"""
Everything that creates help requests. Each request gets its case in the same
transaction, so there is never a request without a case or the reverse.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.workflow import DONE_STATES, CaseState
from core.bulk import (
    adapt_rows,
    adapt_value,
    existing_keys,
    in_list,
    insert_select,
    write_rows,
)
from encryption.fingerprint import contact_fingerprint
from intake.models import HelpRequest
from intake.references import new_reference
from intake.vocabulary import URGENCY_RANK, Language


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

    def help_request(self) -> HelpRequest:
        values = {
            "received_at": self.received_at,
            "channel": self.channel,
            "category": self.category,
            "service_status": self.service_status,
            "location": self.location,
            "urgency": self.urgency,
            "legal_articles": self.legal_articles,
            "language": self.language,
            "contact": self.contact,
            "alias": self.alias,
            "narrative": self.narrative,
            "precise_location": self.precise_location,
            "unit": self.unit,
            "contact_fingerprint": contact_fingerprint(self.contact),
        }
        if self.reference:
            values["reference"] = self.reference
        return HelpRequest(**values)


def create_request(record: RequestRecord) -> HelpRequest:
    """Store one new request with its case in state `new`."""
    with transaction.atomic():
        help_request = record.help_request()
        help_request.save()
        case = Case.objects.create(
            request=help_request,
            priority=URGENCY_RANK[help_request.urgency],
            created_at=help_request.received_at,
        )
        CaseEvent.objects.create(
            case=case, kind=CaseEvent.Kind.CREATED, to_state=case.state, at=timezone.now()
        )
    return help_request


@dataclass
class BatchResult:
    created: int
    # reference -> primary key of requests that were already stored
    existing: dict[str, int]


REQUEST_COLUMNS = (
    "reference", "received_at", "channel", "category", "service_status", "location",
    "urgency", "legal_articles", "language", "contact", "alias", "narrative",
    "precise_location", "unit", "contact_fingerprint",
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
)
EVENT_COLUMNS = ("case", "kind", "from_state", "to_state", "outcome", "at")


def _request_row(record: RequestRecord) -> tuple:
    return (
        record.reference or new_reference(),
        record.received_at,
        record.channel,
        record.category,
        record.service_status,
        record.location,
        record.urgency,
        record.legal_articles,
        record.language,
        record.contact,
        record.alias,
        record.narrative,
        record.precise_location,
        record.unit,
        contact_fingerprint(record.contact),
    )


def _case_row(record: RequestRecord, now: datetime) -> tuple:
    closed_at = (record.resolved_at or record.received_at) if record.state in DONE_STATES else None
    # The request id comes first and is filled in once the request is stored.
    return (
        None,
        record.state,
        record.outcome,
        URGENCY_RANK[record.urgency],
        record.resolved_at,
        closed_at,
        record.received_at,
        now,
    )


@dataclass
class PreparedBatch:
    """Rows adapted for the database (encrypted, fingerprinted), not yet stored."""

    references: list[str]
    requests: list[list]
    cases: list[list]
    imported_at: object  # as the database stores it


def prepare_batch(records: Sequence[RequestRecord]) -> PreparedBatch:
    """The CPU-heavy half of storing a batch; touches no database."""
    now = timezone.now()
    return PreparedBatch(
        references=[record.reference for record in records],
        requests=adapt_rows(HelpRequest, REQUEST_COLUMNS, [_request_row(r) for r in records]),
        cases=adapt_rows(Case, CASE_COLUMNS, [_case_row(r, now) for r in records]),
        imported_at=adapt_value(CaseEvent, "at", now),
    )


def write_batch(batch: PreparedBatch) -> BatchResult:
    """
    Store a prepared batch: requests, their cases in the recorded state and an
    `imported` event each, skipping references already stored. The caller holds
    the transaction.
    """
    existing = existing_keys(HelpRequest, "reference", [ref for ref in batch.references if ref])
    fresh = [i for i, reference in enumerate(batch.references) if reference not in existing]
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
            f"SELECT id, %s, '', state, outcome, %s FROM cases_case WHERE {condition}",  # noqa: S608
            [CaseEvent.Kind.IMPORTED.value, batch.imported_at, *params],
        )
    return BatchResult(created=len(request_ids), existing=existing)


def store_batch(records: Sequence[RequestRecord]) -> BatchResult:
    """Store requests recorded elsewhere (CSV import, demo data) in one go."""
    return write_batch(prepare_batch(records))
