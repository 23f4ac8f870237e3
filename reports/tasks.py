"""
Report generation in Celery. Tasks take a month string only; they are
idempotent (one stored report per month, replaced), acknowledged late, and
retried when the database is unavailable.
"""

from celery import shared_task
from django.db import DatabaseError

from reports.months import current_month, label, parse_month, shift
from reports.services import store_report

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
