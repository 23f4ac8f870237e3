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


def record_many(action: str, targets: list[str], *, actor: Any = None, **detail: Any) -> int:
    """
    Append one entry per target, all with the same action, actor and detail,
    chained exactly as `record` would chain them one by one, but under one lock
    of the head and in one insert: the retention purge writes one entry per
    erased case, thousands in a night.
    """
    if not targets:
        return 0
    with transaction.atomic():
        if not ChainHead.objects.filter(pk=HEAD_ID).update(seq=F("seq") + len(targets)):
            ChainHead.objects.create(pk=HEAD_ID, seq=len(targets))
        head = ChainHead.objects.get(pk=HEAD_ID)
        seq, previous, now = head.seq - len(targets), head.last_hash, timezone.now()
        entries = []
        for target in targets:
            seq += 1
            entry = AuditEntry(
                seq=seq,
                at=now,
                actor=actor_name(actor),
                action=action,
                target=str(target)[:150],
                detail=detail,
                prev_hash=previous,
            )
            entry.entry_hash = previous = entry.compute_hash()
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries)
        ChainHead.objects.filter(pk=HEAD_ID).update(last_hash=previous)
    return len(entries)


@dataclass(frozen=True)
class Checkpoint:
    """A point the chain was verified up to: an entry's number and hash."""

    seq: int
    hash: str


GENESIS = Checkpoint(0, GENESIS_HASH)


@dataclass
class Verification:
    entries: int  # entries verified by this walk
    broken_at: int | None = None  # seq of the first entry that fails
    reason: str = ""
    last: Checkpoint = GENESIS  # how far the chain holds

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(batch_size: int = 5000, *, since: Checkpoint = GENESIS) -> Verification:
    """
    Walk the chain from `since` (the start, by default) to its head; report the
    first entry that does not hold. From a checkpoint, the entry it names must
    still carry the hash it had: rewriting the chain behind a checkpoint changes
    that hash, so it is noticed without walking the older entries again.
    """
    if since.seq:
        anchor = AuditEntry.objects.filter(seq=since.seq).first()
        if anchor is None or anchor.entry_hash != since.hash:
            return Verification(0, since.seq, "it no longer matches the last verified check")
        if anchor.compute_hash() != anchor.entry_hash:
            return Verification(0, since.seq, "its content does not match its hash")
    expected_seq, previous_hash, count = since.seq + 1, since.hash, 0
    entries = AuditEntry.objects.filter(seq__gt=since.seq).order_by("seq")
    for entry in entries.iterator(chunk_size=batch_size):
        broken_at, reason = entry.seq, ""
        if entry.seq != expected_seq:
            broken_at, reason = expected_seq, f"entry #{expected_seq} is missing"
        elif entry.prev_hash != previous_hash:
            reason = "it does not continue the entry before it"
        elif entry.compute_hash() != entry.entry_hash:
            reason = "its content does not match its hash"
        if reason:
            return Verification(
                count, broken_at, reason, Checkpoint(expected_seq - 1, previous_hash)
            )
        expected_seq, previous_hash, count = expected_seq + 1, entry.entry_hash, count + 1
    last = Checkpoint(expected_seq - 1, previous_hash)
    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    if head and (head.seq != last.seq or head.last_hash != last.hash):
        return Verification(count, expected_seq, f"the chain should reach #{head.seq}", last)
    return Verification(count, last=last)
