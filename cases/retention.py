"""
The retention purge: what is no longer needed is destroyed.

RETENTION_DAYS after a case's last activity, a closed or rejected case loses
every encrypted value: the request's contact, alias, narrative, precise location
and unit, its notes, its messages and its attachments (rows and storage
objects). The contact fingerprint and the receipt hash go too, so the
requester can no longer be recognised or look the case up.
What stays is what the monthly reports count: the plaintext slugs and dates,
and the case's history of moves. Reports before and after a purge are equal.

The clock is `Case.last_activity_at`: every move, note and message sets it, so
a requester who writes to a closed case keeps it for another full period.

Erasing a value leaves its old row version in the table's file (PostgreSQL
rewrites nothing in place), so a purge that erased anything queues the tables
it touched for a rewrite (core/storage.py), which beat runs at night.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import record, record_many
from cases.models import Case, CaseNote
from cases.workflow import FINAL_STATES
from core.storage import request_rewrite
from intake.attachments.services import forget_attachments
from intake.models import Attachment, HelpRequest, RequestMessage

# Caseworkers are shown what goes within this many days.
WARNING_DAYS = 7

ERASED_REQUEST_VALUES = {
    "contact": None,
    "alias": None,
    "narrative": None,
    "precise_location": None,
    "unit": None,
    "reply_chat": None,
    # The wrapped request key goes too: a copy of the erased values left on a
    # disk or in a backup then has no key here that could ever open it.
    "content_key": b"",
    "requester_public_key": b"",
    "contact_fingerprint": "",
    "receipt_selector": "",
    "receipt_hash": "",
}


# Every table the purge changes or deletes from: dead rows of each hold content.
PURGED_MODELS = (HelpRequest, CaseNote, RequestMessage, Attachment)


def retention_days() -> int:
    return settings.RETENTION_DAYS


def cutoff(now: datetime | None = None) -> datetime:
    """Finished cases whose last activity is older than this are purged."""
    return (now or timezone.now()) - timedelta(days=retention_days())


def expired_cases(now: datetime | None = None) -> QuerySet:
    """
    Finished cases past their time. A request merged into another (closed by
    the merge) goes on as part of that one's thread: it is erased only after
    the one it was merged into was (cases.undo).
    """
    return Case.objects.filter(
        state__in=FINAL_STATES, purged_at__isnull=True, last_activity_at__lt=cutoff(now)
    ).exclude(merged_into__isnull=False, merged_into__purged_at__isnull=True)


def purge_date(case: Case) -> datetime | None:
    """When the content of a finished case will be erased (None: not planned)."""
    if case.state not in FINAL_STATES or case.purged_at is not None:
        return None
    return case.last_activity_at + timedelta(days=retention_days())


@dataclass
class PurgeOutlook:
    """What the queue says about erasing: cases past their date (the next nightly
    purge takes them), cases due within WARNING_DAYS, and the first few of both."""

    overdue: int
    due: int
    cases: list[dict]


def purged_soon(now: datetime | None = None, limit: int = 50) -> PurgeOutlook:
    """Finished cases erased at the next purge (overdue) or within WARNING_DAYS."""
    now = now or timezone.now()
    finished = Case.objects.filter(state__in=FINAL_STATES, purged_at__isnull=True)
    soon = finished.filter(
        last_activity_at__lt=cutoff(now) + timedelta(days=WARNING_DAYS)
    ).order_by("last_activity_at", "id")
    rows = list(soon.values("id", "state", "last_activity_at", "request__reference")[:limit])
    for row in rows:
        row["purge_at"] = row["last_activity_at"] + timedelta(days=retention_days())
        row["overdue"] = row["purge_at"] < now
    if len(rows) < limit:
        overdue = sum(row["overdue"] for row in rows)
        return PurgeOutlook(overdue, len(rows) - overdue, rows)
    overdue = expired_cases(now).count()
    return PurgeOutlook(overdue, soon.count() - overdue, rows)


@dataclass
class PurgeResult:
    purged: int = 0
    notes: int = 0
    messages: int = 0
    references: list[str] = field(default_factory=list)
    # Tables queued for a rewrite because erased values linger in their files.
    rewrite_tables: list[str] = field(default_factory=list)


def purge_expired(
    *,
    dry_run: bool = False,
    batch_size: int = 500,
    now: datetime | None = None,
    progress: Callable[[PurgeResult], None] | None = None,
) -> PurgeResult:
    """
    Erase the content of every expired case, batch by batch, each batch in its
    own transaction: an interrupted purge keeps what it did and the next run
    finishes. The audit log gets one entry per case (its reference) and one for
    the run (the count), never a value.
    """
    now = now or timezone.now()
    result = PurgeResult()
    last_id = 0
    while True:
        batch = list(
            expired_cases(now)
            .filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "request_id", "request__reference")[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1][0]
        if dry_run:
            result.purged += len(batch)
            result.references += [reference for _, _, reference in batch]
        else:
            _purge_batch(batch, now, result)
        if progress:
            progress(result)
    if not dry_run and result.purged:
        record(
            "retention.purge",
            count=result.purged,
            notes=result.notes,
            messages=result.messages,
            retention_days=retention_days(),
        )
        result.rewrite_tables = request_rewrite(PURGED_MODELS, "retention.purge")
    return result


def _purge_batch(batch: list[tuple[int, int, str]], now: datetime, result: PurgeResult) -> None:
    with transaction.atomic():
        # Lock the cases and check again: a message may have arrived meanwhile.
        # Only the cases' own rows: the case a merged one joined is read through
        # an outer join, which PostgreSQL cannot lock.
        case_ids = list(
            expired_cases(now)
            .select_for_update(of=("self",))
            .filter(id__in=[case_id for case_id, _, _ in batch])
            .values_list("id", flat=True)
        )
        if not case_ids:
            return
        kept = set(case_ids)
        chosen = [(cid, rid, ref) for cid, rid, ref in batch if cid in kept]
        request_ids = [request_id for _, request_id, _ in chosen]
        # Attachments first (messages' ones too): the rows now, their storage
        # objects once this batch commits; their keys go with the erased ones.
        forget_attachments(Attachment.objects.filter(request_id__in=request_ids))
        HelpRequest.objects.filter(id__in=request_ids).update(**ERASED_REQUEST_VALUES)
        notes, _ = CaseNote.objects.filter(case_id__in=case_ids).delete()
        messages, _ = RequestMessage.objects.filter(request_id__in=request_ids).delete()
        Case.objects.filter(id__in=case_ids).update(purged_at=now, unread_message_at=None)
        record_many("retention.purge_case", [reference for _, _, reference in chosen])
    result.purged += len(chosen)
    result.notes += notes
    result.messages += messages
    result.references += [reference for _, _, reference in chosen]
