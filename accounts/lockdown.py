"""
Emergency lockdown: the answer to a raid in one click.

Starting it ends every session at once (staff and admin alike, the person who
started it included) and, until it is lifted, refuses every staff sign-in
except admins, who still pass their second factor. The public form and the
bot API keep accepting requests: people asking for help are not turned away.

Three things keep a session from outliving the start:

* starting and completing a sign-in both take the gate's write lock first
  (`gate()`), so a sign-in either completes before the lockdown, whose delete
  then sees its session, or waits and finds the lockdown in force;
* every request of a signed-in person checks it again
  (accounts.middleware.LockdownMiddleware), the Django admin included;
* lifting it takes the server command, or two different admins on the web:
  one asks, another confirms within the hour. One stolen admin account cannot
  undo it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Lockdown, LockdownGate
from accounts.roles import Role, has_role
from audit.services import actor_name, record

REFUSED_MESSAGE = _(
    "Staff sign-in is suspended by an emergency lockdown. Only admins can sign in until "
    "it is lifted."
)
LIFT_REQUEST_MINUTES = 60
GATE_ID = 1


class LockdownError(Exception):
    """Starting a lockdown already in force, lifting one that is not, or lifting alone."""


@contextmanager
def gate() -> Iterator[None]:
    """
    A transaction that holds the gate row's write lock: taken first by both
    starting a lockdown and completing a sign-in, on every database (an UPDATE
    locks the row on PostgreSQL and the whole database on SQLite).
    """
    with transaction.atomic():
        if not LockdownGate.objects.filter(pk=GATE_ID).update(touched_at=timezone.now()):
            try:
                with transaction.atomic():
                    LockdownGate.objects.create(pk=GATE_ID)
            except IntegrityError:  # created at the same moment by someone else
                LockdownGate.objects.filter(pk=GATE_ID).update(touched_at=timezone.now())
        yield


def in_force() -> Lockdown | None:
    return Lockdown.objects.filter(in_force=True).first()


def start(*, actor=None) -> int:
    """Put the lockdown in force and end every session; the number ended."""
    try:
        with gate():
            Lockdown.objects.create(started_by=actor_name(actor))
            ended, _by_model = Session.objects.all().delete()
            record("lockdown.start", actor=actor, sessions_ended=ended)
    except IntegrityError:
        raise LockdownError(str(_("A lockdown is already in force."))) from None
    return ended


def lift(*, actor=None) -> None:
    """Lift at once: for the server command, whose user already holds the server."""
    with transaction.atomic():
        lifted = Lockdown.objects.filter(in_force=True).update(
            in_force=False, lifted_at=timezone.now(), lifted_by=actor_name(actor)
        )
        if not lifted:
            raise LockdownError(str(_("No lockdown is in force.")))
        record("lockdown.lift", actor=actor)


def lift_request_pending(lockdown: Lockdown) -> bool:
    """Whether an admin asked to lift this lockdown within the last hour."""
    asked = lockdown.lift_requested_at
    return asked is not None and asked > timezone.now() - timedelta(minutes=LIFT_REQUEST_MINUTES)


def _current_for_update() -> Lockdown:
    current = Lockdown.objects.select_for_update().filter(in_force=True).first()
    if current is None:
        raise LockdownError(str(_("No lockdown is in force.")))
    return current


def request_lift(*, actor) -> None:
    """The first of two admins asks to lift the lockdown."""
    with transaction.atomic():
        current = _current_for_update()
        current.lift_requested_by = actor_name(actor)
        current.lift_requested_at = timezone.now()
        current.save(update_fields=["lift_requested_by", "lift_requested_at"])
        record("lockdown.lift_requested", actor=actor)


def confirm_lift(*, actor) -> None:
    """A second admin, not the one who asked, confirms: the lockdown is lifted."""
    with transaction.atomic():
        current = _current_for_update()
        if not lift_request_pending(current):
            raise LockdownError(str(_("No admin has asked to lift the lockdown in the last hour.")))
        if current.lift_requested_by == actor_name(actor):
            raise LockdownError(
                str(_("Another admin must confirm: nobody can lift a lockdown alone."))
            )
        current.in_force = False
        current.lifted_at = timezone.now()
        current.lifted_by = actor_name(actor)
        current.save(update_fields=["in_force", "lifted_at", "lifted_by"])
        record("lockdown.lift", actor=actor, asked_by=current.lift_requested_by)


def may_sign_in(user) -> bool:
    """During a lockdown only admins may sign in (or stay signed in)."""
    return not Lockdown.objects.filter(in_force=True).exists() or has_role(user, Role.ADMIN)
