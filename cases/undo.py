"""
Undoing a decision about a case: reopening one that was rejected or closed.

SPEC.md keeps `closed` and `rejected` final for the ordinary moves (the state
machine of cases.workflow); reopening is the caseworker's separate, audited
act that the role table names. It is asked first on a page of its own, it
needs a reason (sealed as a note: it may say something about the person), and
it is possible only while the content is still there: once the retention
purge or a shred erased it, there is nothing to go back to.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cases.models import Case, CaseEvent, CaseNote
from cases.selectors import forget_nav_counts
from cases.services import CaseError, StaleCase
from cases.workflow import FINAL_STATES, CaseState
from encryption.sealing import seal_item

# Where a reopened case starts again: read, to be worked on.
REOPENED_STATE = CaseState.TRIAGED


def may_reopen(case: Case) -> bool:
    return case.state in FINAL_STATES and case.purged_at is None


def reopen_case(case: Case, reason: str, *, actor: AbstractBaseUser, expected_state: str) -> Case:
    """
    Move a rejected or closed case back to `triaged`, with `reason` kept as a
    sealed note. A closed case's resolution no longer counts (as when a
    resolved case goes back to work); the retention clock starts again.
    """
    reason = reason.strip()
    if not reason:
        raise CaseError(_("Say why the case is reopened."))
    note = CaseNote(case=case, author=actor)
    envelope = seal_item(note, "body", _("Reopened: %(reason)s") % {"reason": reason})
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("request").get(pk=case.pk)
        if locked.state != expected_state:
            raise StaleCase(
                _("This case was moved to “%(state)s” in the meantime; nothing was changed.")
                % {"state": CaseState(locked.state).label}
            )
        if locked.state not in FINAL_STATES:
            raise CaseError(_("Only a rejected or closed case can be reopened."))
        if locked.purged_at is not None:
            raise CaseError(_("This case's content was erased: it cannot be reopened."))
        now = timezone.now()
        from_state = locked.state
        Case.objects.filter(pk=locked.pk).update(
            state=REOPENED_STATE,
            outcome="",
            resolved_at=None,
            closed_at=None,
            last_activity_at=now,
            updated_at=now,
        )
        envelope.row.save(force_insert=True)
        note.save(force_insert=True)
        CaseEvent.objects.create(
            case=locked, from_state=from_state, to_state=REOPENED_STATE, actor=actor, at=now
        )
        record(
            "case.reopen",
            actor=actor,
            target=locked.request.reference,
            from_state=from_state,
            to_state=REOPENED_STATE,
            note=note.pk,
        )
    forget_nav_counts()
    case.refresh_from_db()
    return case
