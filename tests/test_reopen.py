"""
Reopening: a rejected or closed case goes back to `triaged`, asked first, with
a reason (sealed as a note), audited; never once its content was erased.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from cases import undo
from cases.models import Case, CaseEvent, CaseNote
from cases.retention import purge_expired
from cases.services import CaseError
from encryption.fields import Sealed
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import confirmation_on, sign_in

pytestmark = pytest.mark.django_db

REASON = "The requester wrote back: it was a real request, not spam"


def reopen_url(case) -> str:
    return f"/staff/cases/{case.request.reference}/reopen/"


def test_a_rejected_case_is_reopened_after_confirmation_with_a_reason(client, alice):
    case = CaseFactory(state="rejected", closed_at=timezone.now())
    sign_in(client, alice)

    asked = client.post(reopen_url(case), {"expected_state": "rejected"})
    assert asked.status_code == 200
    assert Case.objects.get(pk=case.pk).state == "rejected"
    done = client.post(
        reopen_url(case),
        {"expected_state": "rejected", "reason": REASON, "confirmation": confirmation_on(asked)},
    )

    assert done.status_code == 302
    case.refresh_from_db()
    assert case.state == "triaged" and case.closed_at is None
    entry = AuditEntry.objects.get(action="case.reopen")
    assert entry.target == case.request.reference
    assert entry.detail["from_state"] == "rejected"
    note = CaseNote.objects.get(case=case)
    assert isinstance(note.body, Sealed)
    assert CaseEvent.objects.filter(case=case, from_state="rejected", to_state="triaged").exists()


def test_without_the_confirmation_nothing_changes(client, alice):
    case = CaseFactory(state="rejected")
    sign_in(client, alice)

    forged = client.post(
        reopen_url(case), {"expected_state": "rejected", "reason": REASON, "confirmation": "x"}
    )

    assert forged.status_code == 200  # the confirmation page again, the reason kept
    assert REASON in forged.content.decode()
    assert Case.objects.get(pk=case.pk).state == "rejected"
    assert not AuditEntry.objects.filter(action="case.reopen").exists()


def test_without_a_reason_nothing_changes(client, alice):
    case = CaseFactory(state="closed", outcome="referred")
    sign_in(client, alice)
    asked = client.post(reopen_url(case), {"expected_state": "closed"})

    again = client.post(
        reopen_url(case),
        {"expected_state": "closed", "reason": "  ", "confirmation": confirmation_on(asked)},
    )

    assert "Say why the case is reopened." in again.content.decode()
    assert Case.objects.get(pk=case.pk).state == "closed"


def test_a_closed_case_loses_its_outcome_when_reopened(alice):
    case = CaseFactory(state="closed", outcome="left_country", resolved_at=timezone.now())

    undo.reopen_case(case, REASON, actor=alice.user, expected_state="closed")

    case.refresh_from_db()
    assert (case.state, case.outcome, case.resolved_at) == ("triaged", "", None)


@pytest.mark.parametrize("state", ["new", "triaged", "in_progress", "waiting", "resolved"])
def test_only_a_final_case_is_reopened(alice, state):
    case = CaseFactory(state=state, outcome="referred" if state == "resolved" else "")

    with pytest.raises(CaseError):
        undo.reopen_case(case, REASON, actor=alice.user, expected_state=state)
    assert not undo.may_reopen(case)


def test_an_erased_case_cannot_be_reopened(client, alice, settings):
    case = CaseFactory(state="rejected")
    Case.objects.filter(pk=case.pk).update(
        last_activity_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1)
    )
    purge_expired()
    case.refresh_from_db()
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()
    refused = client.post(reopen_url(case), {"expected_state": "rejected"})

    assert case.purged_at is not None
    assert reopen_url(case) not in page
    assert refused.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "rejected"
    with pytest.raises(CaseError):
        undo.reopen_case(case, REASON, actor=alice.user, expected_state="rejected")


def test_a_stale_page_changes_nothing(alice):
    case = CaseFactory(state="closed", outcome="referred")

    with pytest.raises(CaseError):
        undo.reopen_case(case, REASON, actor=alice.user, expected_state="rejected")
    assert Case.objects.get(pk=case.pk).state == "closed"


def test_a_caseworker_without_the_key_cannot_reopen(client, settings):
    from tests.staffing import make_staff

    waiting = make_staff("newcomer", "caseworker", with_access=False)
    case = CaseFactory(state="rejected")
    sign_in(client, waiting)

    response = client.post(reopen_url(case), {"expected_state": "rejected", "reason": REASON})

    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == "rejected"


def test_the_requester_sees_the_case_taken_up_again(client, alice):
    code = submit(client)
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(state="rejected")
    before = client.post("/status/", {"code": code}).content.decode()

    undo.reopen_case(case, REASON, actor=alice.user, expected_state="rejected")
    after = client.post("/status/", {"code": code}).content.decode()

    assert "We could not take up this request" in before
    assert "A caseworker has read your request" in after
