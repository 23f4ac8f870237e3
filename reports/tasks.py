"""
Report generation in Celery. Tasks take a month string only; they are
idempotent (one stored report per month, replaced), acknowledged late, and
retried when the database is unavailable.
"""

from celery import shared_task
from django.db import DatabaseError

from reports.months import current_month, label, parse_month, shift
from reports.services import months_with_requests, store_report, store_reports

RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(name="reports.generate_monthly_report", **RETRY)
def generate_monthly_report(month: str) -> str:
    """Compute and store the report for `month` ("YYYY-MM")."""
    return str(store_report(parse_month(month)).generated_at)


@shared_task(name="reports.generate_previous_month", **RETRY)
def generate_previous_month() -> str:
    """On the 1st: the month that just ended, now complete."""
    return generate_monthly_report(label(shift(current_month(), -1)))


@shared_task(name="reports.refresh_current_month", **RETRY)
def refresh_current_month() -> str:
    """Nightly: the month so far."""
    return generate_monthly_report(label(current_month()))


@shared_task(name="reports.generate_all_reports", **RETRY)
def generate_all_reports() -> int:
    """
    Every month from the first request to now, in one task: the export's
    suppression of every month, which each report's published figures need,
    is then worked out once rather than once a month.
    """
    return len(store_reports(months_with_requests()))
