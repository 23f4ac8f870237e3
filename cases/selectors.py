"""Read paths of the case workflow: the triage queue and one case's page."""

import logging
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import Case as Choose
from django.db.models.functions import Coalesce, Length
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.roles import Role
from audit.models import AuditEntry
from cases.models import TRIAGE_ORDER, Case, CaseEvent, CaseNote, Flood, FloodRejection
from cases.workflow import ACTIVE_STATES, CaseState
from intake.models import HelpRequest, RequestMessage
from intake.vocabulary import URGENCY_RANK

logger = logging.getLogger(__name__)

# Everything the queue shows; encrypted columns are never even fetched.
QUEUE_FIELDS = (
    "id",
    "state",
    "priority",
    "created_at",
    "assigned_to__username",
    "request__reference",
    "request__category",
    "request__urgency",
    "request__received_at",
    "waiting_since",  # the flag on cases waiting too long (cases.follow_up)
    "unread_message_at",
    "escalated",  # with_escalation: untriaged for too long (ESCALATE_*_AFTER)
)


def escalation(now: datetime | None = None) -> Q:
    """
    Critical or high requests nobody has triaged for longer than
    ESCALATE_CRITICAL_AFTER / ESCALATE_HIGH_AFTER (counted from the received
    hour, the only time a request keeps), not held during a flood.
    """
    now = now or timezone.now()
    critical = now - timedelta(seconds=settings.ESCALATE_CRITICAL_AFTER)
    high = now - timedelta(seconds=settings.ESCALATE_HIGH_AFTER)
    return Q(state=CaseState.NEW, flood__isnull=True) & (
        Q(priority=URGENCY_RANK["critical"], created_at__lt=critical)
        | Q(priority=URGENCY_RANK["high"], created_at__lt=high)
    )


def escalated_cases(now: datetime | None = None) -> QuerySet:
    return Case.objects.filter(escalation(now))


def with_escalation(cases: QuerySet) -> QuerySet:
    """The cases with `escalated` (True or False) for the queue's flag."""
    return cases.annotate(escalated=ExpressionWrapper(escalation(), output_field=BooleanField()))


def my_unread_cases(user: AbstractBaseUser) -> QuerySet:
    """This caseworker's cases whose requester wrote since someone last looked."""
    return unread_cases().filter(assigned_to=user)


@dataclass
class QueueFilters:
    state: str = ""
    category: str = ""
    urgency: str = ""
    assignee: str = ""  # "", "mine", "unassigned" or a colleague's id (QueueFilterForm)
    channel: str = ""
    language: str = ""
    received_from: date | None = None  # days in TIME_ZONE, both ends included
    received_to: date | None = None
    sort: str = ""  # one of QUEUE_SORTS, or "" for the queue's own order


class QueuePage(Paginator):
    """Pages of queue rows, counted on the filtered cases alone: counting the
    shaped rows would join every request just to count them."""

    def __init__(self, cases: QuerySet, per_page: int) -> None:
        self.cases = cases
        rows = cases if cases.ordered else cases.order_by(*QUEUE_ORDER)
        super().__init__(with_escalation(rows).values(*QUEUE_FIELDS), per_page)

    @cached_property
    def count(self) -> int:
        return self.cases.count()


# Most urgent first; within an urgency, requests nobody has triaged yet before
# the rest (a new "high" request must not wait behind weeks-old work in its own
# filter), then oldest first. The same order as case_triage_idx.
QUEUE_ORDER = (*TRIAGE_ORDER, "id")
# Cases that left active work, reached only by choosing their state: newest first.
FINISHED_ORDER = ("-created_at", "-id")

# States in the order work goes through them, for sorting by state.
_STATE_RANK = Choose(
    *(When(state=state, then=Value(rank)) for rank, state in enumerate(CaseState.values)),
    output_field=IntegerField(),
)
# The orders a column header of the queue (and of the New view) can ask for:
# `?sort=` takes only these names; anything else leaves the page's own order.
# Each order ends with the id, so pages never share or skip a row. Categories
# sort by their code, which keeps each category's cases together. Urgency
# sorts by the case's priority rank (0 is critical): "urgency" from low to
# critical, "-urgency" most urgent first.
QUEUE_SORTS: dict[str, tuple] = {
    "received": ("created_at", "id"),
    "-received": ("-created_at", "-id"),
    "urgency": ("-priority", "created_at", "id"),
    "-urgency": ("priority", "created_at", "id"),
    "state": (_STATE_RANK.asc(), "created_at", "id"),
    "-state": (_STATE_RANK.desc(), "created_at", "id"),
    "category": ("request__category", "created_at", "id"),
    "-category": ("-request__category", "created_at", "id"),
    # Nobody's cases after everyone's, whichever the direction.
    "assignee": (F("assigned_to__username").asc(nulls_last=True), "created_at", "id"),
    "-assignee": (F("assigned_to__username").desc(nulls_last=True), "created_at", "id"),
}


def sorted_by(cases: QuerySet, sort: str) -> QuerySet:
    """`cases` in the order `sort` names, or as they are if it names none."""
    order = QUEUE_SORTS.get(sort)
    return cases.order_by(*order) if order else cases


def triage_queue(user: AbstractBaseUser, filters: QueueFilters) -> QuerySet:
    """Cases still being worked on (or, chosen explicitly, those of any one state)
    matching the filters, in their order for QueuePage. Requests are joined only
    to filter by them."""
    states = [filters.state] if filters.state else ACTIVE_STATES
    order = QUEUE_ORDER if set(states) <= set(ACTIVE_STATES) else FINISHED_ORDER
    # Cases held during a flood wait in their own list (held_groups).
    cases = Case.objects.filter(state__in=states, flood__isnull=True).order_by(*order)
    if filters.category:
        cases = cases.filter(request__category=filters.category)
    if filters.urgency:
        # The case carries its request's urgency as a rank: no join needed.
        cases = cases.filter(priority=URGENCY_RANK[filters.urgency])
    if filters.channel:
        cases = cases.filter(request__channel=filters.channel)
    if filters.language:
        cases = cases.filter(request__language=filters.language)
    # The case carries its request's received hour: no join needed.
    if filters.received_from:
        cases = cases.filter(created_at__gte=_day_start(filters.received_from))
    if filters.received_to:
        cases = cases.filter(created_at__lt=_day_start(filters.received_to + timedelta(days=1)))
    if filters.assignee == "mine":
        cases = cases.filter(assigned_to=user)
    elif filters.assignee == "unassigned":
        cases = cases.filter(assigned_to__isnull=True)
    elif filters.assignee.isdigit():
        cases = cases.filter(assigned_to_id=int(filters.assignee))
    return sorted_by(cases, filters.sort)


def colleagues_with_access() -> QuerySet:
    """Who a case may be given to: active caseworkers who hold a grant of the
    active organisation key (one who cannot read content cannot work a case)."""
    return (
        get_user_model()
        .objects.filter(
            groups__name=Role.CASEWORKER,
            is_active=True,
            content_grants__organisation_key__state="active",
        )
        .distinct()
        .order_by("username")
        .only("id", "username")
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def new_requests() -> QuerySet:
    """Requests nobody has triaged yet, newest first (case_state_idx, backwards)."""
    return Case.objects.filter(state=CaseState.NEW, flood__isnull=True).order_by(
        "-created_at", "-id"
    )


def cases_by_reference(keys: list[str], *, whole: bool) -> QuerySet:
    """
    Cases, in any state, whose reference has one of these search keys
    (intake.references.key_candidates): the whole key with `whole`, else keys
    beginning with one of them. Newest first.
    """
    if not keys:
        return Case.objects.none()
    if whole:
        matching = Q(request__reference_key__in=keys)
    else:
        matching = Q()
        for key in keys:
            matching |= Q(request__reference_key__startswith=key)
    return (
        with_escalation(Case.objects.filter(matching))
        .order_by("-request__received_at", "-request__id")
        .values(*QUEUE_FIELDS)
    )


def requests_with_fingerprints(fingerprints: list[str], limit: int) -> list[dict]:
    """Requests whose contact has one of these keyed fingerprints, newest first:
    a contact found without decrypting anything (encryption.fingerprint)."""
    if not fingerprints:
        return []
    return list(
        HelpRequest.objects.filter(contact_fingerprint__in=sorted(fingerprints))
        .order_by("-received_at", "-pk")
        .values("reference", "received_at", "category", "urgency", "case__state")[:limit]
    )


# The counts in a caseworker's menu, on every page: kept a few seconds, and
# forgotten by each change to a case's state or unread messages.
NAV_COUNTS_KEY = "cases:nav-counts"
NAV_COUNTS_SECONDS = 20


def nav_counts() -> dict[str, int]:
    """How many requests are new, how many cases have unread requester
    messages, and how many requests are held during a flood: three counts on
    partial indexes, at most once per NAV_COUNTS_SECONDS (every time, should
    the cache be unreachable)."""
    try:
        counts = cache.get(NAV_COUNTS_KEY)
    except Exception:
        logger.warning("menu counts not cached (cache unreachable)")
        return _count_for_nav()
    if counts is None:
        counts = _count_for_nav()
        with suppress(Exception):
            cache.set(NAV_COUNTS_KEY, counts, NAV_COUNTS_SECONDS)
    return counts


def my_nav_count(user: AbstractBaseUser) -> int:
    """
    How many of this caseworker's cases have unread requester messages, for
    the menu: none without a query when no case has any, else counted once
    per computation of the shared counts (their `stamp` names this count's
    cache entry, so it is forgotten with them).
    """
    counts = nav_counts()
    if not counts.get("unread"):
        return 0
    key = f"cases:nav-mine:{user.pk}:{counts.get('stamp', '')}"
    try:
        mine = cache.get(key)
    except Exception:
        return my_unread_cases(user).count()
    if mine is None:
        mine = my_unread_cases(user).count()
        with suppress(Exception):
            cache.set(key, mine, NAV_COUNTS_SECONDS)
    return mine


def _count_for_nav() -> dict[str, int]:
    return {
        "stamp": secrets.token_hex(8),
        "new": new_requests().count(),
        "unread": unread_cases().count(),
        "escalated": escalated_cases().count(),
        # Intake is holding (a flood): said in the menu of every page.
        "held": held_count(),
    }


def forget_nav_counts() -> None:
    """After a change to what the menu counts. An unreachable cache keeps nothing
    to forget, and must not stop a request from being received."""
    _forget()
    # Again once the change is committed: a page drawn meanwhile counted the old state.
    transaction.on_commit(_forget)


def _forget() -> None:
    with suppress(Exception):
        cache.delete(NAV_COUNTS_KEY)


def unread_cases() -> QuerySet:
    """
    Cases, not held and not rejected, whose requester wrote since a caseworker
    last looked. A rejected case written to goes to a low-priority list of its
    own (written_after_rejection): a bot that kept its flood's receipt codes
    must not bring every rejected case back to the caseworkers' home page.
    """
    return Case.objects.filter(unread_message_at__isnull=False, flood__isnull=True).exclude(
        state=CaseState.REJECTED
    )


def written_after_rejection(limit: int = 20) -> QuerySet:
    """Rejected cases whose requester wrote since a caseworker last looked, newest first."""
    return (
        Case.objects.filter(
            unread_message_at__isnull=False, flood__isnull=True, state=CaseState.REJECTED
        )
        .order_by("-unread_message_at", "-id")
        .values("request__reference", "unread_message_at")[:limit]
    )


def cases_with_new_messages(limit: int = 20) -> QuerySet:
    """The oldest unread first (unread_cases)."""
    return (
        unread_cases()
        .order_by("unread_message_at", "id")
        .values("request__reference", "state", "unread_message_at")[:limit]
    )


def earlier_requests(
    help_request: HelpRequest, fingerprints: list[str], limit: int = 5
) -> QuerySet:
    """
    Earlier requests from the same contact, recognised by its keyed fingerprints
    (encryption.fingerprint: one per organisation key a caseworker's session
    holds; during a rotation of that key both kinds occur).
    """
    if not fingerprints:
        return HelpRequest.objects.none()
    # Times are hours (core.clock): within the hour, the id says which came first.
    earlier = Q(received_at__lt=help_request.received_at) | Q(
        received_at=help_request.received_at, pk__lt=help_request.pk
    )
    return (
        HelpRequest.objects.filter(earlier, contact_fingerprint__in=sorted(fingerprints))
        .order_by("-received_at", "-pk")
        .values("reference", "received_at")[:limit]
    )


# --- requests held during a flood ----------------------------------------------------

# Members listed under each group on the held list; larger groups show a count.
GROUP_MEMBERS_SHOWN = 10


def held_count() -> int:
    return Case.objects.filter(flood__isnull=False).count()


# The columns a held request fills that grow with what was sent, and a fixed
# allowance for the rest of it: its case, its event and envelope rows, the
# receipt columns and the index entries of all of them.
HELD_SIZE_COLUMNS = (
    "contact", "alias", "narrative", "precise_location", "unit",
    "content_key", "requester_public_key",
)  # fmt: skip
HELD_ROW_BYTES = 1024


def held_size():
    """The bytes a case's request takes, as an expression over cases: what a
    held request counts against INTAKE_HOLD_LIMIT (nothing is decrypted)."""
    columns = [Coalesce(Length(f"request__{name}"), 0) for name in HELD_SIZE_COLUMNS]
    return sum(columns, Value(HELD_ROW_BYTES))


def held_bytes() -> int:
    """What every request still held takes (kept per flood, a few rows)."""
    return Flood.objects.aggregate(total=Sum("held_bytes"))["total"] or 0


def held_in_window(since: datetime, until: datetime, last_case_id: int | None = None) -> QuerySet:
    """Held cases whose request was received from `since` up to `until`
    (and, once a rejection is confirmed, no later than the last case it saw)."""
    cases = Case.objects.filter(
        flood__isnull=False,
        state=CaseState.NEW,
        request__received_at__gte=since,
        request__received_at__lt=until,
    )
    return cases if last_case_id is None else cases.filter(pk__lte=last_case_id)


def flood_rejections(limit: int = 5) -> QuerySet:
    """The latest one-action rejections of a flood, with their progress."""
    return FloodRejection.objects.select_related("started_by").order_by("-created_at", "-pk")[
        :limit
    ]


def recent_floods(limit: int = 10) -> QuerySet:
    """The latest floods, each with how many of its requests are still held."""
    return Flood.objects.annotate(still_held=Count("held_cases")).order_by("-started_at")[:limit]


def held_groups(limit: int = 100) -> list[dict]:
    """
    Held cases grouped by identical narrative (their keyed digest, so nothing is
    decrypted), largest group first: each with its size, the hours its requests
    arrived between, and a few members (reference, category, urgency).
    """
    groups = list(
        Case.objects.filter(flood__isnull=False)
        .values("flood_digest")
        .annotate(
            size=Count("id"),
            first_id=Min("id"),
            first_received=Min("request__received_at"),
            last_received=Max("request__received_at"),
        )
        .order_by("-size", "first_id")[:limit]
    )
    small = [g["flood_digest"] for g in groups if g["size"] <= GROUP_MEMBERS_SHOWN]
    representatives = [g["first_id"] for g in groups if g["size"] > GROUP_MEMBERS_SHOWN]
    members: dict[str, list[dict]] = {}
    rows = (
        Case.objects.filter(flood__isnull=False)
        .filter(Q(flood_digest__in=small) | Q(pk__in=representatives))
        .order_by("id")
        .values("flood_digest", "request__reference", "request__category", "request__urgency")
    )
    for row in rows:
        members.setdefault(row["flood_digest"], []).append(row)
    for group in groups:
        # The digest itself never leaves here: a group is named by a member.
        group["members"] = members.get(group.pop("flood_digest"), [])
        for member in group["members"]:
            member.pop("flood_digest")
        group["reference"] = group["members"][0]["request__reference"] if group["members"] else ""
    return groups


def held_group_of(case: Case) -> QuerySet:
    """The held cases whose narrative is identical to this held case's."""
    if case.flood_id is None:
        return Case.objects.none()
    return Case.objects.filter(flood__isnull=False, flood_digest=case.flood_digest)


# --- one case's timeline ------------------------------------------------------------


@dataclass
class TimelineEntry:
    """
    One line of a case's timeline. `who` is a staff member's username ("" for
    the requester or nobody); `text` is a note's or message's words, None when
    this session cannot open them (`locked`). Times from a requester are kept
    to the hour (core.clock): `hourly`.
    """

    kind: str  # received, imported, moved, assigned, note, reply, message
    at: datetime
    who: str = ""
    event: CaseEvent | None = None
    assignee: str = ""
    text: str | None = None
    locked: bool = False
    hourly: bool = False
    sort_key: tuple = ()
    contacted_via: str = ""  # a note recording a contact outside the system

    @property
    def contacted_via_label(self) -> str:
        return str(CaseNote.ContactChannel(self.contacted_via).label)


def case_timeline(case: Case, content=None, shown: int | None = None) -> list[TimelineEntry]:
    """
    Receipt, moves, assignments, notes, replies and requester messages, oldest
    first, in a fixed number of queries whatever their number. `content` is
    what cases.access.open_case gave this session (its notes and thread carry
    their opened text); without it, nothing is decrypted or even fetched of the
    sealed columns, and notes and messages show as locked. With `shown`, the
    newest `shown` entries after the receipt (a long thread is paged: older
    entries on request, see timeline_page).

    A time kept to the hour sorts at the end of its hour: what the requester
    wrote this hour comes after a caseworker's move of the same hour, never
    above it where it could be missed. The receipt comes first whatever its time.
    """
    help_request = case.request
    entries = [
        TimelineEntry("received", help_request.received_at, hourly=True, sort_key=(0,)),
        *_event_entries(case),
        *_assignment_entries(help_request.reference),
        *_content_entries(case, content, shown),
    ]
    entries.sort(key=lambda entry: entry.sort_key)
    if shown is not None and len(entries) > shown + 1:
        entries = [entries[0], *entries[-shown:]]
    return entries


@dataclass
class TimelinePage:
    """How much of a case's timeline a page shows, and how to see more."""

    shown: int
    hidden: int  # notes and messages older than those shown
    more: int | None  # the `shown` of the next page, None when all is shown


def timeline_page(case: Case, asked: str | None) -> TimelinePage:
    """The page size from ?shown= (a number, bounded), and what it leaves out."""
    step = settings.CASE_TIMELINE_PAGE
    try:
        shown = min(max(int(asked), step), settings.CASE_TIMELINE_MOST) if asked else step
    except ValueError:
        shown = step
    # One query for both counts.
    notes = CaseNote.objects.filter(case=OuterRef("pk")).values("case").annotate(n=Count("pk"))
    messages = (
        RequestMessage.objects.filter(request=OuterRef("request"))
        .values("request")
        .annotate(n=Count("pk"))
    )
    counted = (
        Case.objects.filter(pk=case.pk)
        .annotate(
            note_count=Coalesce(Subquery(notes.values("n")), 0),
            message_count=Coalesce(Subquery(messages.values("n")), 0),
        )
        .values_list("note_count", "message_count")
        .first()
    )
    items = sum(counted or (0, 0))
    hidden = max(0, items - shown)
    more = min(shown + step, settings.CASE_TIMELINE_MOST) if hidden else None
    return TimelinePage(shown, hidden, more if more and more > shown else None)


def _event_entries(case: Case) -> list[TimelineEntry]:
    events = case.events.exclude(kind=CaseEvent.Kind.CREATED).select_related("actor")
    return [
        TimelineEntry(
            event.kind,
            event.at,
            who=event.actor.get_username() if event.actor else "",
            event=event,
            sort_key=(1, event.at, 0, event.pk),
        )
        for event in events.order_by("at", "pk")
    ]


def _assignment_entries(reference: str) -> list[TimelineEntry]:
    # Assignments are recorded in the audit log alone (cases.services.assign_case).
    rows = (
        AuditEntry.objects.filter(target=reference, action="case.assign")
        .order_by("seq")
        .values_list("seq", "at", "actor", "detail")
    )
    return [
        TimelineEntry(
            "assigned",
            at,
            who=actor,
            assignee=(detail or {}).get("assignee", ""),
            sort_key=(1, at, 1, seq),
        )
        for seq, at, actor, detail in rows
    ]


def newest(queryset, order: tuple[str, ...], shown: int | None) -> list:
    """The newest `shown` rows (all without it), oldest first."""
    if shown is None:
        return list(queryset.order_by(*order))
    return list(queryset.order_by(*(f"-{name}" for name in order))[:shown])[::-1]


def _content_entries(case: Case, content, shown: int | None = None) -> list[TimelineEntry]:
    if content is not None:
        notes = [(opened.item, opened.text) for opened in content.notes]
        messages = [(opened.item, opened.text) for opened in content.thread]
    else:
        sealed = ("body", "item_key")
        notes = [
            (note, None)
            for note in newest(
                # The wrapped key stays: it says whether a note has words at all.
                case.notes.defer("body").select_related("author"),
                ("created_at", "pk"),
                shown,
            )
        ]
        messages = [
            (message, None)
            for message in newest(
                case.request.messages.defer(*sealed, "requester_key").select_related("author"),
                ("sent_at", "pk"),
                shown,
            )
        ]
    entries = [
        TimelineEntry(
            "note",
            note.created_at,
            who=note.author.get_username() if note.author else "",
            text=text,
            locked=text is None and bool(note.item_key),
            sort_key=(1, note.created_at, 2, note.pk),
            contacted_via=note.contacted_via,
        )
        for note, text in notes
    ]
    for message, text in messages:
        from_staff = message.sender == RequestMessage.Sender.STAFF
        entries.append(
            TimelineEntry(
                "reply" if from_staff else "message",
                message.sent_at,
                who=message.author.get_username() if from_staff and message.author else "",
                text=text,
                locked=text is None,
                hourly=True,
                sort_key=(1, message.sent_at + timedelta(hours=1), 3, message.pk),
            )
        )
    return entries


def held_groups_of(references: list[str]) -> QuerySet:
    """Every held case in the groups of these held cases (two queries in all)."""
    digests = list(
        Case.objects.filter(request__reference__in=references, flood__isnull=False)
        .values_list("flood_digest", flat=True)
        .distinct()
    )
    return Case.objects.filter(flood__isnull=False, flood_digest__in=digests).order_by("pk")
