"""The case state machine of SPEC.md, as data."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")


class Outcome(models.TextChoices):
    LEFT_COUNTRY = "left_country", _("Left the country")
    HIDING_IN_COUNTRY = "hiding_in_country", _("Hiding in the country")
    CONSULTATION_GIVEN = "consultation_given", _("Consultation given")
    REFERRED = "referred", _("Referred elsewhere")
    LOST_CONTACT = "lost_contact", _("Lost contact")
    RETURNED_TO_SERVICE = "returned_to_service", _("Returned to service")
    DETAINED = "detained", _("Detained")
    DECLINED = "declined", _("Declined")


# "Assisted desertion" in the published figures.
ASSISTED_DESERTION = (Outcome.LEFT_COUNTRY.value, Outcome.HIDING_IN_COUNTRY.value)

ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    CaseState.NEW: (CaseState.TRIAGED, CaseState.REJECTED),
    CaseState.TRIAGED: (CaseState.IN_PROGRESS, CaseState.REJECTED),
    CaseState.IN_PROGRESS: (CaseState.WAITING, CaseState.RESOLVED),
    CaseState.WAITING: (CaseState.IN_PROGRESS, CaseState.RESOLVED),
    CaseState.RESOLVED: (CaseState.CLOSED, CaseState.IN_PROGRESS),
    CaseState.CLOSED: (),
    CaseState.REJECTED: (),
}

FINAL_STATES = (CaseState.CLOSED.value, CaseState.REJECTED.value)
OPEN_STATES = tuple(state for state in CaseState.values if state not in FINAL_STATES)
# The default triage queue: resolved cases wait only to be closed, so they leave
# it too (a state filter still shows them).
ACTIVE_STATES = tuple(state for state in OPEN_STATES if state != CaseState.RESOLVED)
# States in which a case has left active work: they carry closed_at.
DONE_STATES = (CaseState.RESOLVED.value, CaseState.CLOSED.value, CaseState.REJECTED.value)
# Moves asked again on a page of their own: the final ones, from which the
# retention purge counts down to erasing the content (cases.retention), and
# resolving, which takes the case out of active work (it sets resolved_at and
# closed_at, and the case counts as resolved in the month's figures).
CONFIRMED_MOVES = DONE_STATES


def allowed_moves(state: str) -> tuple[str, ...]:
    return ALLOWED_MOVES.get(state, ())


def is_allowed(from_state: str, to_state: str) -> bool:
    return to_state in allowed_moves(from_state)


def needs_confirmation(to_state: str) -> bool:
    return to_state in CONFIRMED_MOVES
