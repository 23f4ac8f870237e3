"""
Telling caseworkers that requests arrived. Tasks take a case id (or nothing):
the broker holds their arguments in clear, so never content.
"""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from cases.models import Case
from cases.workflow import CaseState
from core.clock import hour_of


def _send_notice(count: int) -> None:
    # No reference, category or anything else about the requests: mail passes
    # through servers we do not control.
    with override(settings.LANGUAGE_CODE):
        send_mail(
            subject=_("New requests are waiting"),
            message=_(
                "%(count)s new request(s) are waiting in the triage queue. Open the staff "
                "area to read them: %(url)s"
            )
            % {"count": count, "url": (settings.STAFF_URL or "/staff/")},
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[settings.INTAKE_NOTIFY_EMAIL],
        )


def _notify(cases) -> int:
    """Mark the cases as notified and send one notice; idempotent under retries."""
    with transaction.atomic():
        pending = list(
            cases.filter(notified_at__isnull=True).select_for_update().values_list("pk", flat=True)
        )
        if not pending:
            return 0
        # The hour only: sent right after a submission, the exact time would date it.
        Case.objects.filter(pk__in=pending).update(notified_at=hour_of())
        if settings.INTAKE_NOTIFY_EMAIL:
            _send_notice(len(pending))
    return len(pending)


@shared_task(
    name="intake.notify_new_case",
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    max_retries=5,
    # Nobody reads its result. Without this, the web process sending it would
    # subscribe to the result in Redis, and while Redis is down each submission
    # would hang in the result backend's reconnect loop (20 tries, 1 s apart).
    ignore_result=True,
)
def notify_new_case(case_id: int) -> int:
    return _notify(Case.objects.filter(pk=case_id))


@shared_task(name="intake.notify_pending_cases")
def notify_pending_cases() -> int:
    """The periodic sweep: new cases whose notification could not be queued, and
    those released from a flood's held list. Held cases wait until released:
    a flood must not bury the duty address in notices."""
    return _notify(Case.objects.filter(state=CaseState.NEW, flood__isnull=True))


@shared_task(name="intake.audit_bot_usage")
def audit_bot_usage() -> int:
    """Hourly: each bot's requests of the finished hours, as counts, to the audit log;
    and the bots' Idempotency-Keys older than a day forgotten."""
    from intake.services import audit_bot_usage as write_entries
    from intake.services import forget_retry_keys

    forget_retry_keys()
    return write_entries()
