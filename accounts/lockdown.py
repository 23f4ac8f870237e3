"""
Emergency lockdown: the answer to a raid in one click.

Starting it ends every session at once (staff and admin alike, the person who
started it included) and, until it is lifted, refuses every staff sign-in
except admins, who still pass their second factor. The public form and the
bot API keep accepting requests: people asking for help are not turned away.
"""

from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Lockdown
from accounts.roles import Role, has_role
from audit.services import actor_name, record

REFUSED_MESSAGE = _(
    "Staff sign-in is suspended by an emergency lockdown. Only admins can sign in until "
    "it is lifted."
)


class LockdownError(Exception):
    """Starting a lockdown already in force, or lifting one that is not."""


def in_force() -> Lockdown | None:
    return Lockdown.objects.filter(in_force=True).first()


def start(*, actor=None) -> int:
    """Put the lockdown in force and end every session; the number ended."""
    try:
        with transaction.atomic():
            Lockdown.objects.create(started_by=actor_name(actor))
            ended, _by_model = Session.objects.all().delete()
            record("lockdown.start", actor=actor, sessions_ended=ended)
    except IntegrityError:
        raise LockdownError(str(_("A lockdown is already in force."))) from None
    return ended


def lift(*, actor=None) -> None:
    with transaction.atomic():
        lifted = Lockdown.objects.filter(in_force=True).update(
            in_force=False, lifted_at=timezone.now(), lifted_by=actor_name(actor)
        )
        if not lifted:
            raise LockdownError(str(_("No lockdown is in force.")))
        record("lockdown.lift", actor=actor)


def may_sign_in(user) -> bool:
    """During a lockdown only admins may sign in."""
    return not Lockdown.objects.filter(in_force=True).exists() or has_role(user, Role.ADMIN)
