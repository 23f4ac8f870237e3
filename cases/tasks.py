"""Scheduled work on cases. Tasks take no content: the broker holds arguments in clear."""

import logging

from celery import shared_task
from django.db import DatabaseError

from cases.retention import purge_expired

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
