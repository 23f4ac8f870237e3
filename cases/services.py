"""
Everything that changes a case. A state move happens here and only here, in a
transaction that locks the case, so the state machine is enforced once.
"""

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cases.models import Case, CaseEvent, CaseNote, Flood, FloodRejection, SavedView
from cases.selectors import (
    colleagues_with_access,
    forget_nav_counts,
    held_in_window,
    held_size,
)
from cases.workflow import DONE_STATES, FINAL_STATES, CaseState, Outcome, is_allowed
from core.clock import hour_of
from core.queue import enqueue
from encryption.digests import forget_flood_key
from encryption.sealing import seal_item
from intake.messages import save_copies, seal_message
from intake.models import RequestMessage
from telegram_bot import notice as telegram_notice

logger = logging.getLogger(__name__)


class CaseError(Exception):
    """A domain rule refused the change; the message is fit to show a person."""


class IllegalMove(CaseError):
    pass


class OutcomeRequired(CaseError):
    pass


class StaleCase(CaseError):
    """The case changed since the person looked at it."""


def move_case(
    case: Case,
    to_state: str,
    *,
    actor: AbstractBaseUser | None,
    outcome: str = "",
    expected_state: str | None = None,
) -> Case:
    """
    Move a case to `to_state` and record the move.

    `expected_state` is the state the person saw when they chose the move; if
    someone else moved the case in between, nothing changes and StaleCase is
    raised. Moving to `resolved` needs an outcome; moving away from it (reopening)
    clears the outcome so that the resolution no longer counts in reports.
    """
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        _check_move(locked, to_state, outcome, expected_state)
        from_state = locked.state
        now = timezone.now()
        locked.state = to_state
        if to_state == CaseState.RESOLVED:
            locked.outcome = outcome
            locked.resolved_at = now
        elif from_state == CaseState.RESOLVED and to_state == CaseState.IN_PROGRESS:
            locked.outcome = ""
            locked.resolved_at = None
        locked.closed_at = now if to_state in DONE_STATES else None
        # The wait for the requester starts with each move to "waiting"; a case
        # that is done needs no follow-up.
        locked.waiting_since = now if to_state == CaseState.WAITING else None
        if to_state in DONE_STATES:
            locked.follow_up_on = None
        locked.last_activity_at = now
        locked.updated_at = now
        # A held case a caseworker has acted on has been reviewed: it leaves the
        # held list, and its narrative digest goes (see hold_during_flood).
        if locked.flood_id is not None:
            _unhold([locked.pk])
        locked.flood, locked.flood_digest = None, ""
        locked.save(
            update_fields=[
                "state", "outcome", "resolved_at", "closed_at", "last_activity_at", "updated_at",
                "flood", "flood_digest", "waiting_since", "follow_up_on",
            ]
        )  # fmt: skip
        CaseEvent.objects.create(
            case=locked,
            kind=CaseEvent.Kind.MOVED,
            from_state=from_state,
            to_state=to_state,
            outcome=locked.outcome if to_state == CaseState.RESOLVED else "",
            actor=actor,
            at=now,
        )
        record(
            "case.move",
            actor=actor,
            target=locked.request.reference,
            from_state=from_state,
            to_state=to_state,
        )
    forget_nav_counts()
    # The caller's object reflects the move as well.
    for field in (
        "state", "outcome", "resolved_at", "closed_at", "last_activity_at", "updated_at",
        "flood", "flood_digest", "waiting_since", "follow_up_on",
    ):  # fmt: skip
        setattr(case, field, getattr(locked, field))
    return case


def _check_move(case: Case, to_state: str, outcome: str, expected_state: str | None) -> None:
    if expected_state is not None and case.state != expected_state:
        raise StaleCase(
            _("This case was moved to “%(state)s” in the meantime; nothing was changed.")
            % {"state": CaseState(case.state).label}
        )
    if to_state not in CaseState.values:
        raise IllegalMove(_("“%(state)s” is not a case state.") % {"state": to_state})
    if not is_allowed(case.state, to_state):
        raise IllegalMove(
            _("A case cannot move from “%(from)s” to “%(to)s”.")
            % {"from": CaseState(case.state).label, "to": CaseState(to_state).label}
        )
    if to_state == CaseState.RESOLVED:
        if not outcome:
            raise OutcomeRequired(_("Choose an outcome to resolve the case."))
        if outcome not in Outcome.values:
            raise IllegalMove(_("“%(outcome)s” is not an outcome.") % {"outcome": outcome})


def assign_case(case: Case, assignee: AbstractBaseUser | None, *, actor: AbstractBaseUser) -> Case:
    """Give the case to `assignee` (None: nobody). Recorded in the audit log."""
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(assigned_to=assignee, updated_at=timezone.now())
        case.assigned_to = assignee
        record(
            "case.assign",
            actor=actor,
            target=case.request.reference,
            assignee=assignee.get_username() if assignee else "",
        )
    return case


def add_note(case: Case, body: str, *, author: AbstractBaseUser) -> CaseNote:
    """A note sealed to the organisation; the audit log records that it was written, not what."""
    body = body.strip()
    if not body:
        raise CaseError(_("A note cannot be empty."))
    note = CaseNote(case=case, author=author)
    envelope = seal_item(note, "body", body)
    with transaction.atomic():
        envelope.row.save(force_insert=True)
        note.save(force_insert=True)
        now = timezone.now()
        Case.objects.filter(pk=case.pk).update(updated_at=now, last_activity_at=now)
        record("case.note", actor=author, target=case.request.reference, note=note.pk)
    return note


def record_outside_contact(
    case: Case, channel: str, body: str = "", *, author: AbstractBaseUser
) -> CaseNote:
    """
    A note that the requester was contacted outside the system, and how (phone,
    Signal, in person, other); what was said is not asked for, and an optional
    text is sealed like any note. Audited with the channel only.
    """
    if channel not in CaseNote.ContactChannel.values:
        raise CaseError(_("Choose how the requester was contacted."))
    body = body.strip()
    note = CaseNote(case=case, author=author, contacted_via=channel)
    envelope = seal_item(note, "body", body) if body else None
    with transaction.atomic():
        if envelope is not None:
            envelope.row.save(force_insert=True)
        note.save(force_insert=True)
        now = timezone.now()
        Case.objects.filter(pk=case.pk).update(updated_at=now, last_activity_at=now)
        record("case.contact", actor=author, target=case.request.reference, channel=channel)
    return note


def reply_to_requester(case: Case, body: str, *, author: AbstractBaseUser) -> RequestMessage:
    """A message sealed to the organisation and to the requester, who reads it with their
    receipt code."""
    body = body.strip()
    if not body:
        raise CaseError(_("A message cannot be empty."))
    message = RequestMessage(
        request=case.request, sender=RequestMessage.Sender.STAFF, author=author
    )
    envelope = seal_message(message, body)
    with transaction.atomic():
        envelope.row.save(force_insert=True)
        message.save(force_insert=True)
        save_copies(message)
        now = timezone.now()
        # A reply to a case waiting for the requester starts the wait again.
        waiting = {"waiting_since": now} if case.state == CaseState.WAITING else {}
        Case.objects.filter(pk=case.pk).update(
            unread_message_at=None, updated_at=now, last_activity_at=now, **waiting
        )
        record("case.reply", actor=author, target=case.request.reference, message=message.pk)
    forget_nav_counts()
    return message


def reply_and_wait(
    case: Case, body: str, *, author: AbstractBaseUser, expected_state: str
) -> RequestMessage:
    """
    A reply and the move to "waiting" as one action: both happen or neither
    (a case moved meanwhile, or one the workflow does not let wait, sends
    nothing). Each is audited as itself.
    """
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        _check_move(locked, CaseState.WAITING, "", expected_state)
        move_case(case, CaseState.WAITING, actor=author, expected_state=expected_state)
        return reply_to_requester(case, body, author=author)


def send_reply_notice(case: Case, chat_id: int, *, actor: AbstractBaseUser) -> bool:
    """
    Tell the requester, in the Telegram chat they gave for it, that a
    caseworker answered (a fixed text in the request's language; the answer
    stays behind the receipt code). Audited, sent or not; the chat id is
    neither recorded nor logged. Returns whether Telegram took it.
    """
    sent = telegram_notice.send_reply_notice(chat_id, case.request.language)
    record("case.reply_notice", actor=actor, target=case.request.reference, sent=sent)
    return sent


def mark_messages_read(case: Case) -> None:
    """A caseworker opened the case: the requester's messages have been seen."""
    if case.unread_message_at is not None:
        Case.objects.filter(pk=case.pk).update(unread_message_at=None)
        forget_nav_counts()


# --- requests held during a flood -------------------------------------------------


def current_flood() -> Flood:
    """
    The flood under way, or a new one starting this hour. A flood goes on while
    requests keep being held within an hour of each other. Call it inside the
    transaction that holds the request.
    """
    hour = hour_of()
    flood = (
        Flood.objects.filter(last_held_at__gte=hour - timedelta(hours=1))
        .order_by("-started_at")
        .first()
    )
    if flood is not None:
        return flood
    try:
        with transaction.atomic():
            return Flood.objects.create(started_at=hour, last_held_at=hour)
    except IntegrityError:  # another process started it in the same hour
        return Flood.objects.get(started_at=hour)


def hold_during_flood(case: Case, narrative_digest: str, flood: Flood | None = None) -> None:
    """
    Keep a new case out of the triage queue, in the held list of `flood` (the
    current_flood() of the same transaction by default), grouped with identical narratives
    by their digest (encryption.digests.flood_digest). It stays stored with its
    receipt, and counts in the reports like any request received. What it
    takes in the database is added to the flood's share of INTAKE_HOLD_LIMIT.
    """
    flood = flood or current_flood()
    Case.objects.filter(pk=case.pk).update(flood=flood, flood_digest=narrative_digest)
    size = Case.objects.filter(pk=case.pk).aggregate(size=Sum(held_size()))["size"]
    Flood.objects.filter(pk=flood.pk).update(
        held=F("held") + 1, held_bytes=F("held_bytes") + size, last_held_at=hour_of()
    )
    case.flood, case.flood_digest = flood, narrative_digest


def _unhold(case_ids: list[int]) -> None:
    """
    Before these held cases leave the held list (inside the caller's
    transaction): their size no longer counts against INTAKE_HOLD_LIMIT, and a
    flood with nothing left held forgets its digest key.
    """
    sizes = (
        Case.objects.filter(pk__in=case_ids, flood__isnull=False)
        .values("flood")
        .annotate(size=Sum(held_size()))
        .order_by("flood")
    )
    floods = []
    for row in sizes:
        floods.append(row["flood"])
        Flood.objects.filter(pk=row["flood"]).update(
            held_bytes=Greatest(F("held_bytes") - row["size"], 0)
        )

    def forget_emptied() -> None:
        for flood_id in floods:
            if not Case.objects.filter(flood_id=flood_id).exists():
                forget_flood_key(flood_id)

    transaction.on_commit(forget_emptied)


def _still_held(cases: Iterable[Case]) -> list[Case]:
    ids = [case.pk for case in cases]
    return list(
        Case.objects.select_for_update()
        .filter(pk__in=ids, flood__isnull=False)
        .select_related("request")
        .order_by("pk")
    )


def release_held(cases: Iterable[Case], *, actor: AbstractBaseUser) -> int:
    """
    Put held cases into the triage queue (caseworkers are then told, by the
    notification sweep) and forget their narrative digests. Each release is
    audited. Cases no longer held are skipped. Returns how many were released.
    """
    with transaction.atomic():
        held = _still_held(cases)
        _unhold([case.pk for case in held])
        Case.objects.filter(pk__in=[case.pk for case in held]).update(
            flood=None, flood_digest="", updated_at=timezone.now()
        )
        for case in held:
            record("case.release", actor=actor, target=case.request.reference)
    forget_nav_counts()
    return len(held)


def reject_held_as_spam(cases: Iterable[Case], *, actor: AbstractBaseUser) -> int:
    """
    Reject held cases as spam, all or none: each through move_case (so the state
    machine holds and each move is audited), which also forgets the digest.
    Cases no longer held are skipped. Returns how many were rejected.
    """
    with transaction.atomic():
        held = _still_held(cases)
        for case in held:
            move_case(case, CaseState.REJECTED, actor=actor, expected_state=CaseState.NEW)
    return len(held)


# --- a whole flood rejected in one confirmed action ---------------------------------

# Cases rejected per transaction: each batch commits, so progress shows and a
# retried task goes on where it stopped.
FLOOD_REJECTION_BATCH = 1000


def start_flood_rejection(
    since: datetime, until: datetime, last_case_id: int, *, actor: AbstractBaseUser
) -> FloodRejection:
    """
    Record a confirmed rejection of everything held in [since, until) up to
    `last_case_id` (the newest held case the confirmation page counted), audit
    it with its count, and queue the task that carries it out (its id only).
    """
    with transaction.atomic():
        job = FloodRejection.objects.create(
            since=since,
            until=until,
            last_case_id=last_case_id,
            expected=held_in_window(since, until, last_case_id).count(),
            started_by=actor,
        )
        record(
            "held.reject_window",
            actor=actor,
            since=since.isoformat(),
            until=until.isoformat(),
            held=job.expected,
        )
        transaction.on_commit(partial(_queue_flood_rejection, job.pk))
    return job


def _queue_flood_rejection(job_id: int) -> None:
    try:
        enqueue("cases.reject_held_window", job_id)
    except Exception:
        logger.warning("flood rejection %s could not be queued (broker unreachable)", job_id)
        FloodRejection.objects.filter(pk=job_id, state=FloodRejection.State.QUEUED).update(
            state=FloodRejection.State.FAILED
        )


def run_flood_rejection(job_id: int) -> int:
    """
    Carry out a confirmed flood rejection, FLOOD_REJECTION_BATCH cases per
    transaction: each becomes `rejected` with its event (by whoever confirmed),
    leaves the held list and loses its digest. Safe to run again: only cases
    still held are touched, and a finished job does nothing. One audit entry
    with the count closes it (one per case would chain 20,000 entries for one
    decision). Returns how many this run rejected.
    """
    job = FloodRejection.objects.filter(pk=job_id).first()
    if job is None or job.state == FloodRejection.State.DONE:
        return 0
    FloodRejection.objects.filter(pk=job.pk).update(state=FloodRejection.State.RUNNING)
    total = 0
    while batch := _reject_batch(job):
        total += batch
    with transaction.atomic():
        job.refresh_from_db()
        FloodRejection.objects.filter(pk=job.pk).update(
            state=FloodRejection.State.DONE, finished_at=timezone.now()
        )
        record(
            "held.rejected_window",
            actor=job.started_by,
            since=job.since.isoformat(),
            until=job.until.isoformat(),
            rejected=job.rejected,
        )
    forget_nav_counts()
    return total


def _reject_batch(job: FloodRejection) -> int:
    with transaction.atomic():
        ids = list(
            held_in_window(job.since, job.until, job.last_case_id)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:FLOOD_REJECTION_BATCH]
        )
        if not ids:
            return 0
        _unhold(ids)
        now = timezone.now()
        Case.objects.filter(pk__in=ids).update(
            state=CaseState.REJECTED,
            flood=None,
            flood_digest="",
            closed_at=now,
            updated_at=now,
            last_activity_at=now,
            waiting_since=None,
            follow_up_on=None,
        )
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case_id=pk,
                kind=CaseEvent.Kind.MOVED,
                from_state=CaseState.NEW,
                to_state=CaseState.REJECTED,
                actor_id=job.started_by_id,
                at=now,
            )
            for pk in ids
        )
        FloodRejection.objects.filter(pk=job.pk).update(rejected=F("rejected") + len(ids))
    return len(ids)


# --- several cases at once, from the queue -----------------------------------------


@dataclass
class BulkResult:
    """What a bulk action did: the references done, and those skipped with why."""

    done: list[str] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _chosen_cases(references: Iterable[str]) -> tuple[list[Case], list[str]]:
    """The chosen cases, locked, in the order chosen; and references not found."""
    wanted = list(dict.fromkeys(references))
    found = {
        case.request.reference: case
        for case in Case.objects.select_for_update(of=("self",))
        .select_related("request", "assigned_to")
        .filter(request__reference__in=wanted)
    }
    return [found[r] for r in wanted if r in found], [r for r in wanted if r not in found]


def bulk_move(
    references: Iterable[str], to_state: str, *, actor: AbstractBaseUser, outcome: str = ""
) -> BulkResult:
    """
    Move each chosen case to `to_state` (with `outcome`, when resolving) through
    move_case (so the state machine holds and each move is audited on its own),
    all in one transaction. A case that cannot make the move from its state, or
    is still held during a flood, is skipped with the reason.
    """
    result = BulkResult()
    with transaction.atomic():
        cases, missing = _chosen_cases(references)
        result.skipped += [(reference, _("no such case")) for reference in missing]
        for case in cases:
            reference = case.request.reference
            if case.flood_id is not None:
                result.skipped.append((reference, _("held during a flood: see the held list")))
                continue
            if not is_allowed(case.state, to_state):
                result.skipped.append(
                    (
                        reference,
                        _("not possible from “%(state)s”") % {"state": case.get_state_display()},
                    )
                )
                continue
            try:
                move_case(case, to_state, actor=actor, outcome=outcome, expected_state=case.state)
            except CaseError as refusal:
                result.skipped.append((reference, str(refusal).rstrip(".")))
            else:
                result.done.append(reference)
    return result


def bulk_assign_to_me(references: Iterable[str], *, actor: AbstractBaseUser) -> BulkResult:
    """
    Give each chosen case to `actor` through assign_case (audited per case), in
    one transaction. Cases already theirs, finished, or someone else's are
    skipped: taking a colleague's case is done on its own page, on purpose.
    """
    result = BulkResult()
    with transaction.atomic():
        cases, missing = _chosen_cases(references)
        result.skipped += [(reference, _("no such case")) for reference in missing]
        for case in cases:
            reason = _assign_refusal(case, actor)
            if reason:
                result.skipped.append((case.request.reference, reason))
                continue
            assign_case(case, actor, actor=actor)
            result.done.append(case.request.reference)
    return result


def bulk_assign_to(
    references: Iterable[str], assignee_id: int, *, actor: AbstractBaseUser
) -> tuple[BulkResult, AbstractBaseUser]:
    """
    Give each chosen case to a colleague through assign_case (audited per case),
    in one transaction; only to a caseworker who holds access to the content
    (colleagues_with_access), else nothing at all changes (CaseError). Cases
    already theirs or finished are skipped; so is a case held during a flood.
    Taking a case from another colleague is allowed here: it is what a team
    lead does when someone is away, and each change is audited. Returns what
    was done and the colleague.
    """
    assignee = colleagues_with_access().filter(pk=assignee_id).first()
    if assignee is None:
        raise CaseError(
            _("Cases can be given only to a caseworker who can read them; nothing was changed.")
        )
    result = BulkResult()
    with transaction.atomic():
        cases, missing = _chosen_cases(references)
        result.skipped += [(reference, _("no such case")) for reference in missing]
        for case in cases:
            reference = case.request.reference
            if case.assigned_to_id == assignee.pk:
                result.skipped.append((reference, _("already assigned to them")))
            elif case.state in FINAL_STATES:
                label = CaseState(case.state).label
                result.skipped.append((reference, _("finished (“%(state)s”)") % {"state": label}))
            elif case.flood_id is not None:
                result.skipped.append((reference, _("held during a flood: see the held list")))
            else:
                assign_case(case, assignee, actor=actor)
                result.done.append(reference)
    return result, assignee


def _assign_refusal(case: Case, actor: AbstractBaseUser) -> str:
    if case.assigned_to_id == actor.pk:
        return _("already assigned to you")
    if case.assigned_to_id is not None:
        return _("assigned to %(name)s") % {"name": case.assigned_to.get_username()}
    if case.state in FINAL_STATES:
        return _("finished (“%(state)s”)") % {"state": CaseState(case.state).label}
    return ""


# --- saved views of the queue ----------------------------------------------------


def save_view(owner: AbstractBaseUser, name: str, query: str, *, limit: int) -> SavedView:
    """A new saved view of `owner` (`query` already reduced by cases.forms.saved_query).
    Audited by number: its name is the person's own label and stays out of the log."""
    with transaction.atomic():
        if SavedView.objects.filter(owner=owner).count() >= limit:
            raise CaseError(
                _("You have %(limit)s saved views already: delete one first.") % {"limit": limit}
            )
        if SavedView.objects.filter(owner=owner, name=name).exists():
            raise CaseError(_("You have a saved view with this name already."))
        view = SavedView.objects.create(owner=owner, name=name, query=query)
        record("view.save", actor=owner, target=f"saved view {view.pk}")
    return view


def rename_view(view: SavedView, name: str) -> SavedView:
    with transaction.atomic():
        if SavedView.objects.filter(owner=view.owner, name=name).exclude(pk=view.pk).exists():
            raise CaseError(_("You have a saved view with this name already."))
        view.name = name
        view.save(update_fields=["name"])
        record("view.rename", actor=view.owner, target=f"saved view {view.pk}")
    return view


def delete_view(view: SavedView) -> None:
    with transaction.atomic():
        record("view.delete", actor=view.owner, target=f"saved view {view.pk}")
        view.delete()
