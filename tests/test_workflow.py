"""The case state machine: every legal move recorded, every illegal one refused."""

import pytest

from cases.models import Case, CaseEvent
from cases.services import IllegalMove, OutcomeRequired, StaleCase, move_case
from cases.workflow import ALLOWED_MOVES, CaseState
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

ALL_PAIRS = [(a, b) for a in CaseState.values for b in CaseState.values]
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in ALLOWED_MOVES[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in ALLOWED_MOVES[a]]


def case_in(state: str) -> Case:
    outcome = "referred" if state in ("resolved", "closed") else ""
    return CaseFactory(state=state, outcome=outcome)


@pytest.mark.parametrize(("from_state", "to_state"), LEGAL)
def test_every_legal_move_is_made_and_recorded(from_state, to_state):
    alice = UserFactory(username="alice")
    case = case_in(from_state)
    move_case(case, to_state, actor=alice, outcome="left_country")

    case.refresh_from_db()
    assert case.state == to_state
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.from_state, event.to_state) == ("moved", from_state, to_state)
    assert event.actor == alice


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_every_illegal_move_is_refused_and_changes_nothing(from_state, to_state):
    case = case_in(from_state)
    before = Case.objects.values().get(pk=case.pk)
    with pytest.raises(IllegalMove):
        move_case(case, to_state, actor=None, outcome="left_country")

    assert Case.objects.values().get(pk=case.pk) == before
    assert not CaseEvent.objects.filter(case=case).exists()


def test_an_unknown_state_is_refused():
    case = case_in("new")
    with pytest.raises(IllegalMove, match="is not a case state"):
        move_case(case, "vanished", actor=None)


@pytest.mark.parametrize("outcome", ["", "escaped_to_mars"])
def test_resolving_requires_a_real_outcome(outcome):
    case = case_in("in_progress")
    with pytest.raises((OutcomeRequired, IllegalMove)):
        move_case(case, "resolved", actor=None, outcome=outcome)

    case.refresh_from_db()
    assert case.state == "in_progress"
    assert not CaseEvent.objects.filter(case=case).exists()


def test_resolving_stamps_the_resolution_and_the_outcome():
    case = case_in("waiting")
    move_case(case, "resolved", actor=None, outcome="hiding_in_country")

    case.refresh_from_db()
    assert case.outcome == "hiding_in_country"
    assert case.resolved_at is not None
    assert case.closed_at == case.resolved_at
    assert CaseEvent.objects.get(case=case).outcome == "hiding_in_country"


def test_reopening_a_resolved_case_withdraws_its_resolution():
    case = case_in("in_progress")
    move_case(case, "resolved", actor=None, outcome="left_country")
    move_case(case, "in_progress", actor=None)

    case.refresh_from_db()
    assert (case.outcome, case.resolved_at, case.closed_at) == ("", None, None)


def test_a_move_from_a_stale_page_is_refused():
    case = case_in("new")
    move_case(Case.objects.get(pk=case.pk), "triaged", actor=None)

    with pytest.raises(StaleCase):
        move_case(case, "rejected", actor=None, expected_state="new")
    case.refresh_from_db()
    assert case.state == "triaged"


def test_a_full_journey_leaves_a_complete_history():
    case = case_in("new")
    journey = ["triaged", "in_progress", "waiting", "in_progress", "resolved", "closed"]
    for state in journey:
        move_case(case, state, actor=None, outcome="left_country")

    moves = list(CaseEvent.objects.filter(case=case).values_list("from_state", "to_state"))
    assert moves == list(zip(["new", *journey[:-1]], journey, strict=True))
    case.refresh_from_db()
    assert case.state == "closed"
    assert case.outcome == "left_country"
