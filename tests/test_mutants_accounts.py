"""
Mistakes in accounts/decorators.py and accounts/lockdown.py that mutation
testing (dev.py mutants) showed no test would notice.
"""

from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from accounts import lockdown
from accounts.models import Lockdown, LockdownGate
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


def test_a_verified_account_without_any_role_is_refused_every_staff_page(client):
    nobody = make_staff("no-role-at-all")  # a password and a second factor, no role
    sign_in(client, nobody)

    assert client.get("/staff/").status_code == 403


def test_a_guarded_view_keeps_its_own_name():
    """What the resolver, the logs and per-view settings see is the view, not
    the guard around it."""
    view = resolve("/staff/").func

    assert view.__name__ == "queue" and view.__module__ == "cases.views"


def test_the_gate_is_one_row_made_again_if_it_is_ever_missing():
    with lockdown.gate():
        pass
    assert list(LockdownGate.objects.values_list("pk", flat=True)) == [lockdown.GATE_ID]

    LockdownGate.objects.all().delete()
    with lockdown.gate():
        pass

    assert list(LockdownGate.objects.values_list("pk", flat=True)) == [lockdown.GATE_ID]


@pytest.mark.parametrize(("minutes_ago", "pending"), [(59.5, True), (60.5, False)])
def test_a_request_to_lift_a_lockdown_stands_for_one_hour(minutes_ago, pending):
    first, second = make_staff("first-admin", "admin"), make_staff("second-admin", "admin")
    lockdown.start(actor=first.user)
    lockdown.request_lift(actor=first.user)
    asked = timezone.now() - timedelta(minutes=minutes_ago)
    Lockdown.objects.update(lift_requested_at=asked)

    if pending:
        lockdown.confirm_lift(actor=second.user)
        assert lockdown.in_force() is None
    else:
        with pytest.raises(lockdown.LockdownError):
            lockdown.confirm_lift(actor=second.user)
        assert lockdown.in_force() is not None
