"""Moves that cannot be undone (to rejected, to closed) are confirmed on a second page."""

import pytest

from audit.models import AuditEntry
from cases.models import Case
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def move(client, case, to_state: str, **extra):
    data = {"to_state": to_state, "expected_state": case.state, **extra}
    return client.post(f"/staff/cases/{case.request.reference}/move/", data)


@pytest.mark.parametrize(("from_state", "to_state"), [("new", "rejected"), ("resolved", "closed")])
def test_a_final_move_asks_first_and_changes_nothing(client, alice, from_state, to_state):
    case = CaseFactory(state=from_state, outcome="referred" if from_state == "resolved" else "")
    sign_in(client, alice)

    response = move(client, case, to_state)

    assert response.status_code == 200
    assert 'name="confirmed" value="yes"' in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == from_state
    assert not AuditEntry.objects.filter(action="case.move").exists()


def test_the_confirmation_makes_the_move(client, alice):
    case = CaseFactory(state="new")
    sign_in(client, alice)

    response = move(client, case, "rejected", confirmed="yes")

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "rejected"


def test_ordinary_moves_need_no_confirmation(client, alice):
    case = CaseFactory(state="new")
    sign_in(client, alice)

    assert move(client, case, "triaged").status_code == 302
    assert Case.objects.get(pk=case.pk).state == "triaged"


def test_final_moves_look_different_on_the_case_page(client, alice):
    case = CaseFactory(state="new")
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert page.count('<form class="move final"') == 1
    assert page.count('class="danger">Move to “Rejected”') == 1
    assert 'class="danger">Move to “Triaged”' not in page
