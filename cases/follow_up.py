"""
Following cases up: "follow up on DATE", the Due view, the flag on cases
waiting too long for the requester, and the daily digest to each caseworker.

A case is due when its follow-up day has come (today or earlier), or when it
has waited for the requester longer than WAITING_FLAG_DAYS. The digest is
mail, which passes through servers we do not control: it carries counts and
references, never anything a requester or a caseworker wrote.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import Count, DateField, F, Q, QuerySet, When
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from accounts.roles import Role
from audit.services import record
from cases.models import Case
from cases.selectors import escalated_cases, held_count, my_unread_cases
from cases.services import CaseError
from cases.workflow import DONE_STATES, CaseState

log = logging.getLogger(__name__)

# A follow-up further ahead than this is a typo (2062 for 2026), not a plan.
LONGEST_FOLLOW_UP = timedelta(days=366)
# References listed in one digest; the rest are counted.
DIGEST_REFERENCES = 50

DUE_FIELDS = (
    "id",
    "state",
    "follow_up_on",
    "waiting_since",
    "assigned_to__username",
    "request__reference",
    "request__category",
    "request__urgency",
)


# --- the waiting flag -------------------------------------------------------------


def waiting_cutoff(now: datetime | None = None) -> datetime:
    """Cases waiting since before this moment have waited too long."""
    return (now or timezone.now()) - timedelta(days=settings.WAITING_FLAG_DAYS)


def waits_too_long(state: str, waiting_since: datetime | None, now: datetime | None = None) -> bool:
    return (
        state == CaseState.WAITING
        and waiting_since is not None
        and waiting_since < waiting_cutoff(now)
    )


# --- changing the follow-up day ---------------------------------------------------


def set_follow_up(case: Case, day: date | None, *, actor: AbstractBaseUser) -> Case:
    """
    Follow the case up on `day` (None clears it). A finished case needs none;
    the day is today or later, within a year. Audited with the day.
    """
    if day is not None:
        today = timezone.localdate()
        if case.state in DONE_STATES:
            raise CaseError(_("This case is finished: it needs no follow-up."))
        if day < today:
            raise CaseError(_("Choose today or a later day."))
        if day > today + LONGEST_FOLLOW_UP:
            raise CaseError(_("Choose a day within a year."))
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(follow_up_on=day, updated_at=timezone.now())
        record(
            "case.follow_up",
            actor=actor,
            target=case.request.reference,
            follow_up_on=day.isoformat() if day else "",
        )
    case.follow_up_on = day
    return case


# --- the Due view -----------------------------------------------------------------


def due_cases(
    *, today: date, waiting_before: datetime, assignee: AbstractBaseUser | None = None
) -> QuerySet:
    """Unfinished cases whose follow-up day has come, or that have waited for the
    requester since before `waiting_before`; only `assignee`'s if given."""
    due = Q(follow_up_on__lte=today) | Q(state=CaseState.WAITING, waiting_since__lt=waiting_before)
    cases = Case.objects.filter(due, flood__isnull=True).exclude(state__in=DONE_STATES)
    if assignee is not None:
        cases = cases.filter(assigned_to=assignee)
    return cases


class DuePage(Paginator):
    """
    Due cases, longest overdue first: each by its follow-up day if that has
    come, else by the day it started waiting. Counted, sorted and cut to a page
    on the cases alone; only the page's rows are then joined to their requests
    and assignees (sorting thousands of joined rows for 50 would not scale).
    """

    def __init__(self, cases: QuerySet, per_page: int, *, today: date) -> None:
        self.cases = cases
        due_since = Choose(
            When(follow_up_on__lte=today, then=F("follow_up_on")),
            default=TruncDate("waiting_since"),
            output_field=DateField(),
        )
        ids = cases.annotate(due_since=due_since).order_by("due_since", "id")
        super().__init__(ids.values_list("id", flat=True), per_page)

    @cached_property
    def count(self) -> int:
        return self.cases.count()

    def _get_page(self, ids, number, paginator) -> Page:
        ids = list(ids)
        rows = {row["id"]: row for row in Case.objects.filter(pk__in=ids).values(*DUE_FIELDS)}
        return Page([rows[pk] for pk in ids if pk in rows], number, paginator)


# --- the daily digest -------------------------------------------------------------


@dataclass
class Digest:
    overdue: int = 0
    due_today: int = 0
    waiting: int = 0
    total: int = 0
    references: list[str] = field(default_factory=list)
    # Requests held out of the queue during a flood (everyone's, not only theirs).
    held: int = 0
    # Their own cases whose requester wrote since someone last looked.
    wrote: list[str] = field(default_factory=list)
    # Critical or high requests untriaged too long (everyone's: anyone may triage).
    escalated: int = 0

    @property
    def says_anything(self) -> bool:
        return bool(self.total or self.held or self.wrote or self.escalated)

    @property
    def unlisted(self) -> int:
        return self.total - len(self.references)


def digest_for(user: AbstractBaseUser, *, today: date, waiting_before: datetime) -> Digest:
    """What one caseworker's digest says: counts, and the references of the
    longest overdue first."""
    cases = due_cases(today=today, waiting_before=waiting_before, assignee=user)
    counts = cases.aggregate(
        total=Count("id"),
        overdue=Count("id", filter=Q(follow_up_on__lt=today)),
        due_today=Count("id", filter=Q(follow_up_on=today)),
        waiting=Count("id", filter=Q(state=CaseState.WAITING, waiting_since__lt=waiting_before)),
    )
    if not counts["total"]:
        return Digest()
    page = DuePage(cases, DIGEST_REFERENCES, today=today).page(1)
    return Digest(**counts, references=[row["request__reference"] for row in page])


def _staff_url(name: str) -> str:
    if settings.STAFF_URL:
        # STAFF_URL ends where /staff/ does.
        return settings.STAFF_URL.rstrip("/") + reverse(name).removeprefix("/staff")
    return reverse(name)


def _due_url() -> str:
    return _staff_url("cases:due")


def _held_lines(digest: Digest) -> list[str]:
    if not digest.held:
        return []
    return [
        ngettext(
            "Intake is holding requests during a flood: %(count)s request is held out of "
            "the triage queue.",
            "Intake is holding requests during a flood: %(count)s requests are held out of "
            "the triage queue.",
            digest.held,
        )
        % {"count": digest.held},
        _("Review them: %(url)s") % {"url": _staff_url("cases:held")},
        "",
    ]


def _escalation_lines(digest: Digest) -> list[str]:
    if not digest.escalated:
        return []
    return [
        ngettext(
            "%(count)s critical or high request has waited too long for triage.",
            "%(count)s critical or high requests have waited too long for triage.",
            digest.escalated,
        )
        % {"count": digest.escalated},
        _("Triage them: %(url)s") % {"url": _staff_url("cases:new")},
        "",
    ]


def _wrote_lines(digest: Digest) -> list[str]:
    if not digest.wrote:
        return []
    return [
        _("Your requesters wrote (%(count)s):") % {"count": len(digest.wrote)},
        *digest.wrote,
        "",
    ]


def _digest_subject(digest: Digest) -> str:
    if digest.escalated:
        return ngettext(
            "%(count)s urgent request waits for triage",
            "%(count)s urgent requests wait for triage",
            digest.escalated,
        ) % {"count": digest.escalated}
    if digest.wrote:
        return _("Your requesters wrote")
    return _("Requests held during a flood")


def _digest_mail(digest: Digest, today: date) -> tuple[str, str]:
    first = [*_escalation_lines(digest), *_wrote_lines(digest), *_held_lines(digest)]
    if not digest.total:
        return _digest_subject(digest), "\n".join(first)
    subject = ngettext(
        "%(count)s case to follow up", "%(count)s cases to follow up", digest.total
    ) % {"count": digest.total}
    lines = [
        *first,
        _("Your cases to follow up on %(day)s:") % {"day": today.isoformat()},
        "",
        _("Follow-ups overdue: %(count)s") % {"count": digest.overdue},
        _("Follow-ups due today: %(count)s") % {"count": digest.due_today},
        _("Waiting for the requester more than %(days)s days: %(count)s")
        % {"days": settings.WAITING_FLAG_DAYS, "count": digest.waiting},
        "",
        *digest.references,
    ]
    if digest.unlisted:
        lines.append(_("… and %(count)s more.") % {"count": digest.unlisted})
    lines += ["", _("Open the Due view: %(url)s") % {"url": _due_url()}]
    return subject, "\n".join(lines) + "\n"


def send_digests(now: datetime | None = None) -> int:
    """
    Mail each active caseworker with an address the digest of their due cases,
    and, while intake is holding requests during a flood, how many are held;
    nothing to someone with nothing due when nothing is held. Returns how
    many mails were sent. Only caseworkers who hold the active organisation
    key get one: without it a caseworker sees no case reference anywhere
    (cases.access.may_act), and a revoked one still assigned to cases must not
    be mailed their references.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    workers = (
        get_user_model()
        .objects.filter(
            groups__name=Role.CASEWORKER,
            is_active=True,
            content_grants__organisation_key__state="active",
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    sent = 0
    held = held_count()
    escalated = escalated_cases(now).count()
    for worker in workers:
        digest = digest_for(worker, today=today, waiting_before=waiting_cutoff(now))
        digest.held, digest.escalated = held, escalated
        digest.wrote = list(
            my_unread_cases(worker)
            .order_by("unread_message_at", "id")
            .values_list("request__reference", flat=True)[:DIGEST_REFERENCES]
        )
        if not digest.says_anything:
            continue
        with override(settings.LANGUAGE_CODE):
            subject, body = _digest_mail(digest, today)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [worker.email])
        except OSError:
            # One unreachable address must not stop the others; the log names
            # the account, never the address.
            log.warning("follow-up digest to %s could not be sent", worker.get_username())
            continue
        sent += 1
    if sent:
        record("follow_up.digest", actor="digest", mails=sent)
    return sent


def set_digest_address(user: AbstractBaseUser, address: str) -> None:
    """The caseworker's own address for the digest ("" for none). Audited without it."""
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(email=address)
        record(
            "follow_up.digest_address",
            actor=user,
            target=user.get_username(),
            address_given=bool(address),
        )
    user.email = address
