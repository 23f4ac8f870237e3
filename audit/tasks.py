"""Verifying the audit chain in the background. Arguments: a check's id, or nothing."""

from celery import shared_task
from django.db import DatabaseError

from audit.checks import run_check

RETRY = {"acks_late": True, "autoretry_for": (DatabaseError,), "retry_backoff": True}


@shared_task(name="audit.verify_chain", max_retries=3, **RETRY)
def verify_audit_chain(check_id: int | None = None) -> str:
    """Run a requested check, or (from beat) a new one from the last checkpoint."""
    return run_check(check_id).status


@shared_task(name="audit.verify_chain_from_start", max_retries=3, **RETRY)
def verify_audit_chain_from_start() -> str:
    """A check of every entry, ignoring checkpoints (weekly, from beat)."""
    return run_check(from_start=True).status
