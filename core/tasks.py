"""Nightly housekeeping. Tasks take no arguments: nothing for the broker to hold."""

import logging
from importlib import import_module

from celery import shared_task
from django.conf import settings

from core.storage import rewrite_pending

log = logging.getLogger(__name__)


@shared_task(name="core.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """
    Django's `clearsessions`, every night. An expired session row is of no use
    to anyone, but kept it would tell who was signed in, and until when.
    """
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(name="core.rewrite_tables")
def rewrite_tables() -> int:
    """
    Rewrite the tables the purge or a key rotation left dead rows in (at night:
    each is locked while it is copied). A table it could not lock waits for the
    next night; running it twice rewrites nothing twice.
    """
    report = rewrite_pending()
    if report.rewritten or report.waiting:
        log.info(
            "table rewrite (%s): %s table(s) in %.1f s, %s still waiting",
            report.method or "none",
            len(report.rewritten),
            report.total_seconds,
            len(report.waiting),
        )
    return len(report.rewritten)
