"""
Verifying the chain in the background, and keeping each result.

A web request never walks the chain (at 50,000 entries that took seconds, and
grows with the log): an admin asks for a check, a Celery task carrying only its
id runs it, and the page shows the last result. Each check continues from the
last intact one (its checkpoint: the entry it verified up to and that entry's
hash), so a nightly check reads only the day's entries; a check "from the
start" walks everything again.

What a checkpoint does not do is add trust. It is stored in the same database
as the chain, so whoever can rewrite entries (and recompute their hashes, which
need no key) can rewrite checkpoints too, exactly as they could already rewrite
the whole chain and its head. Against that, only something kept off the server
helps: `verify_audit_log` walks from the first entry and prints the head's
number and hash, and `--expect SEQ:HASH` proves that the chain still passes
through a point written down earlier. A rewrite behind a checkpoint that did
not also rewrite the checkpoint is caught by the next check, since the entry
the checkpoint names no longer has its hash.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import ChainCheck
from audit.services import GENESIS, Checkpoint, actor_name, verify_chain

log = logging.getLogger(__name__)

# A check requested within this time and not finished makes another request
# wait for it instead of queueing a second walk.
STILL_UNDER_WAY = timedelta(hours=1)


def last_checkpoint() -> Checkpoint:
    """Where the chain was last verified to be intact (the start if never)."""
    check = (
        ChainCheck.objects.filter(status=ChainCheck.Status.INTACT)
        .order_by("-verified_seq", "-finished_at")
        .first()
    )
    return Checkpoint(check.verified_seq, check.verified_hash) if check else GENESIS


def last_result() -> ChainCheck | None:
    return ChainCheck.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()


def check_under_way() -> ChainCheck | None:
    return (
        ChainCheck.objects.filter(
            status__in=[ChainCheck.Status.WAITING, ChainCheck.Status.RUNNING],
            requested_at__gte=timezone.now() - STILL_UNDER_WAY,
        )
        .order_by("-requested_at")
        .first()
    )


def request_check(*, by=None, from_start: bool = False) -> tuple[ChainCheck, bool]:
    """A check for the background; returns it and whether it is new (not one under way)."""
    with transaction.atomic():
        under_way = check_under_way()
        if under_way:
            return under_way, False
        check = ChainCheck.objects.create(
            requested_at=timezone.now(), requested_by=actor_name(by), from_start=from_start
        )
    return check, True


def run_check(check_id: int | None = None, *, from_start: bool = False) -> ChainCheck:
    """
    Run a requested check (or a new one) and store its result. A finished check
    is left as it is, so a task delivered twice walks the chain once.
    """
    if check_id is None:
        check = ChainCheck.objects.create(requested_at=timezone.now(), from_start=from_start)
    else:
        check = ChainCheck.objects.get(pk=check_id)
        if check.finished:
            return check
    since = GENESIS if check.from_start else last_checkpoint()
    check.status, check.started_at = ChainCheck.Status.RUNNING, timezone.now()
    check.first_seq = since.seq + 1
    check.save(update_fields=["status", "started_at", "first_seq"])
    result = verify_chain(since=since)
    check.entries = result.entries
    check.verified_seq, check.verified_hash = result.last.seq, result.last.hash
    check.broken_at, check.reason = result.broken_at, result.reason
    check.status = ChainCheck.Status.INTACT if result.intact else ChainCheck.Status.BROKEN
    check.finished_at = timezone.now()
    check.save()
    if not result.intact:
        log.error("audit chain broken at entry #%s: %s", result.broken_at, result.reason)
    return check
