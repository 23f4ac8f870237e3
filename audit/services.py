"""Writing to and verifying the audit log."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditEntry, ChainHead

HEAD_ID = 1


def actor_name(actor: Any) -> str:
    """A user's username; a plain string names a system actor (e.g. a command)."""
    if isinstance(actor, str):
        return actor
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    return actor.get_username()


def record(action: str, *, actor: Any = None, target: str = "", **detail: Any) -> AuditEntry:
    """
    Append one entry. `detail` holds small, non-sensitive facts (states, counts,
    roles); callers never pass what a person wrote or could identify them.
    """
    with transaction.atomic():
        # Taking the head's write lock first serialises appends on every database.
        if not ChainHead.objects.filter(pk=HEAD_ID).update(seq=F("seq") + 1):
            ChainHead.objects.create(pk=HEAD_ID, seq=1)
        head = ChainHead.objects.get(pk=HEAD_ID)
        entry = AuditEntry(
            seq=head.seq,
            at=timezone.now(),
            actor=actor_name(actor),
            action=action,
            target=str(target)[:150],
            detail=detail,
            prev_hash=head.last_hash,
        )
        entry.entry_hash = entry.compute_hash()
        entry.save()
        ChainHead.objects.filter(pk=HEAD_ID).update(last_hash=entry.entry_hash)
    return entry


@dataclass
class Verification:
    entries: int
    broken_at: int | None = None  # seq of the first entry that fails
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(batch_size: int = 5000) -> Verification:
    """Walk the chain from the start; report the first entry that does not hold."""
    expected_seq, previous_hash, count = 1, GENESIS_HASH, 0
    entries = AuditEntry.objects.order_by("seq")
    for entry in entries.iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return Verification(count, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != previous_hash:
            return Verification(count, entry.seq, "it does not continue the entry before it")
        if entry.compute_hash() != entry.entry_hash:
            return Verification(count, entry.seq, "its content does not match its hash")
        expected_seq, previous_hash, count = expected_seq + 1, entry.entry_hash, count + 1
    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    if head and (head.seq != count or head.last_hash != previous_hash):
        return Verification(count, count + 1, f"the chain should reach #{head.seq}")
    return Verification(count)
