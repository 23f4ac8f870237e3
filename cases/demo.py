"""
The demo as a working day (reports/management/commands/demo_setup.py): a few
open cases assigned to the demo caseworker, some with a follow-up due today or
overdue, a few reply templates, and the first responses the seeded history
never recorded (so the time-to-first-response figures are not empty).

Everything here goes through the same services as the pages (assignments,
follow-ups and templates audited), except the first responses of past months,
which are history: written as the moves out of `new` that a caseworker would
have made, at a plausible hour after each request came in.
"""

import random
from datetime import timedelta

from django.utils import timezone

from cases.follow_up import set_follow_up
from cases.models import Case, CaseEvent, ReplyTemplate
from cases.reply_templates import create_template
from cases.services import assign_case
from cases.workflow import CaseState

ASSIGNED = 8
FOLLOW_UPS = 4
# Requests received over these last days get their first response recorded.
FIRST_RESPONSE_DAYS = 62
TEMPLATES = (
    ("en", "We have read your request",
     "Thank you for writing. A caseworker has read your request and will answer here within "
     "two days. Keep your code safe: it is the only way back to this conversation."),
    ("ru", "Мы прочитали вашу заявку",
     "Спасибо, что написали. Сотрудник прочитал вашу заявку и ответит здесь в течение двух "
     "дней. Сохраните ваш код: только по нему можно вернуться к этому разговору."),
    ("ru", "Нужны подробности",
     "Чтобы помочь, нам нужно знать, где вы сейчас и есть ли у вас документы. Напишите только "
     "то, что считаете безопасным."),
)  # fmt: skip
OPEN = (CaseState.TRIAGED, CaseState.IN_PROGRESS, CaseState.WAITING)


def working_day(caseworker, keys, *, seed: int = 2026) -> dict[str, int]:
    """Give the demo caseworker a day's work; does nothing twice."""
    done = {"assigned": 0, "follow_ups": 0, "templates": 0, "first_responses": 0}
    if not Case.objects.filter(assigned_to=caseworker).exists():
        chosen = list(
            Case.objects.filter(state__in=OPEN, purged_at__isnull=True)
            .select_related("request")
            .order_by("-created_at")[:ASSIGNED]
        )
        today = timezone.localdate()
        for n, case in enumerate(chosen):
            assign_case(case, caseworker, actor=caseworker)
            done["assigned"] += 1
            if n < FOLLOW_UPS:
                set_follow_up(case, today, actor=caseworker)
                if n % 2:
                    # Set two days ago and missed: what a real Monday looks like.
                    Case.objects.filter(pk=case.pk).update(follow_up_on=today - timedelta(days=2))
                done["follow_ups"] += 1
    if keys and not ReplyTemplate.objects.exists():
        for language, title, body in TEMPLATES:
            create_template(title=title, language=language, body=body, actor=caseworker, keys=keys)
            done["templates"] += 1
    done["first_responses"] = _first_responses(seed)
    return done


def _first_responses(seed: int) -> int:
    """The move out of `new` for recent requests whose case left it without one."""
    since = timezone.now() - timedelta(days=FIRST_RESPONSE_DAYS)
    moved = CaseEvent.objects.filter(kind=CaseEvent.Kind.MOVED, from_state=CaseState.NEW).values(
        "case_id"
    )
    cases = (
        Case.objects.filter(request__received_at__gte=since)
        .exclude(state=CaseState.NEW)
        .exclude(pk__in=moved)
        .values_list("pk", "request__received_at", "state")
    )
    pick = random.Random(seed)  # noqa: S311 - demo data, not a secret
    now = timezone.now()
    events = []
    for pk, received, state in cases.iterator():
        # Most within a working day, a tail over two to three days.
        hours = pick.expovariate(1 / 9) + pick.random()
        at = min(received + timedelta(hours=hours), now)
        to_state = CaseState.TRIAGED if state != CaseState.REJECTED else CaseState.REJECTED
        events.append(
            CaseEvent(case_id=pk, kind=CaseEvent.Kind.MOVED, from_state=CaseState.NEW,
                      to_state=to_state, at=at)
        )  # fmt: skip
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)
