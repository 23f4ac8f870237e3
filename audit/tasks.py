"""Verifying the audit chain, and signing and delivering its checkpoints, in the
background. Arguments: a check's id, or nothing."""

from celery import shared_task
from django.db import DatabaseError

from audit import checkpoints
from audit.checks import run_check
from encryption import checkpoint_key

RETRY = {"acks_late": True, "autoretry_for": (DatabaseError,), "retry_backoff": True}


@shared_task(name="audit.verify_chain", max_retries=3, **RETRY)
def verify_audit_chain(check_id: int | None = None) -> str:
    """Run a requested check, or (from beat) a new one from the last checkpoint."""
    return run_check(check_id).status


@shared_task(name="audit.verify_chain_from_start", max_retries=3, **RETRY)
def verify_audit_chain_from_start() -> str:
    """A check of every entry, ignoring checkpoints (weekly, from beat)."""
    return run_check(from_start=True).status


@shared_task(name="audit.make_checkpoint", max_retries=3, **RETRY)
def make_audit_checkpoint() -> int:
    """Sign the chain's head (from beat, every AUDIT_CHECKPOINT_INTERVAL) after retrying
    what earlier checkpoints did not deliver. Without a signing key, nothing: the
    audit log page says checkpoints are off."""
    checkpoints.deliver_pending()
    if not checkpoint_key.signing_configured():
        return 0
    return checkpoints.make_checkpoint().number


@shared_task(name="audit.deliver_checkpoints", max_retries=3, **RETRY)
def deliver_audit_checkpoints() -> int:
    """Retry storing (and, after a failure, mailing) checkpoints not yet delivered."""
    return checkpoints.deliver_pending()


@shared_task(name="audit.mail_checkpoints", max_retries=3, **RETRY)
def mail_audit_checkpoints() -> int:
    """The daily mail of the checkpoints signed since the last one, to every admin."""
    return checkpoints.mail_pending()
