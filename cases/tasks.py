"""Scheduled work on cases. Tasks take no content: the broker holds arguments in clear."""

import logging

from celery import shared_task
from django.db import DatabaseError

from cases.follow_up import send_digests
from cases.retention import purge_expired
from cases.services import run_flood_rejection

log = logging.getLogger(__name__)


@shared_task(
    name="cases.purge_expired",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
)
def purge_expired_cases() -> int:
    """The daily retention purge; running it twice erases nothing twice."""
    result = purge_expired()
    log.info("retention purge: %s case(s) erased", result.purged)
    return result.purged


# Not retried: a retry after some mails went out would send them twice.
@shared_task(name="cases.send_follow_up_digests", ignore_result=True)
def send_follow_up_digests() -> int:
    """The morning digest of each caseworker's due cases; nothing to who has none."""
    sent = send_digests()
    log.info("follow-up digest: %s mail(s) sent", sent)
    return sent


@shared_task(
    name="cases.reject_held_window",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def reject_held_window(job_id: int) -> int:
    """A confirmed one-action rejection of a flood (cases.models.FloodRejection);
    a retry goes on with the cases still held."""
    rejected = run_flood_rejection(job_id)
    log.info("flood rejection %s: %s case(s) rejected", job_id, rejected)
    return rejected
