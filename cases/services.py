"""
Everything that changes a case. A state move happens here and only here, in a
transaction that locks the case, so the state machine is enforced once.
"""

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cases.models import Case, CaseEvent, CaseNote, Flood
from cases.selectors import forget_nav_counts
from cases.workflow import DONE_STATES, FINAL_STATES, CaseState, Outcome, is_allowed
from core.clock import hour_of
from encryption.sealing import seal_item
from intake.messages import seal_message
from intake.models import RequestMessage


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
        now = timezone.now()
        # A reply to a case waiting for the requester starts the wait again.
        waiting = {"waiting_since": now} if case.state == CaseState.WAITING else {}
        Case.objects.filter(pk=case.pk).update(
            unread_message_at=None, updated_at=now, last_activity_at=now, **waiting
        )
        record("case.reply", actor=author, target=case.request.reference, message=message.pk)
    forget_nav_counts()
    return message


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


def hold_during_flood(case: Case, narrative_digest: str) -> None:
    """
    Keep a new case out of the triage queue, in the current flood's held list,
    grouped with identical narratives by their keyed digest. It stays stored
    with its receipt, and counts in the reports like any request received.
    """
    flood = current_flood()
    Case.objects.filter(pk=case.pk).update(flood=flood, flood_digest=narrative_digest)
    Flood.objects.filter(pk=flood.pk).update(held=F("held") + 1, last_held_at=hour_of())
    case.flood, case.flood_digest = flood, narrative_digest


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


def bulk_move(references: Iterable[str], to_state: str, *, actor: AbstractBaseUser) -> BulkResult:
    """
    Move each chosen case to `to_state` through move_case (so the state machine
    holds and each move is audited on its own), all in one transaction. A case
    that cannot make the move from its state, or is still held during a flood,
    is skipped with the reason.
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
                move_case(case, to_state, actor=actor, expected_state=case.state)
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


def _assign_refusal(case: Case, actor: AbstractBaseUser) -> str:
    if case.assigned_to_id == actor.pk:
        return _("already assigned to you")
    if case.assigned_to_id is not None:
        return _("assigned to %(name)s") % {"name": case.assigned_to.get_username()}
    if case.state in FINAL_STATES:
        return _("finished (“%(state)s”)") % {"state": CaseState(case.state).label}
    return ""
