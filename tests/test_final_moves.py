"""
Moves that cannot be undone (to rejected, to closed), and resolving, which takes
a case out of active work, are confirmed on a second page; their buttons look
different from ordinary moves.
"""

from datetime import timedelta

import pytest

from audit.models import AuditEntry
from cases import services
from cases.models import Case
from cases.retention import expired_cases
from cases.workflow import ALLOWED_MOVES
from tests.factories import CaseFactory
from tests.staffing import confirmation_on, sign_in

pytestmark = pytest.mark.django_db

EVERY_MOVE = [(source, target) for source, targets in ALLOWED_MOVES.items() for target in targets]
ASKED_FIRST = [
    ("new", "rejected"),
    ("triaged", "rejected"),
    ("in_progress", "resolved"),
    ("waiting", "resolved"),
    ("resolved", "closed"),
]


def case_in(state: str) -> Case:
    return CaseFactory(state=state, outcome="referred" if state == "resolved" else "")


def move(client, case, to_state: str, **extra):
    outcome = "referred" if to_state == "resolved" else ""
    data = {"to_state": to_state, "expected_state": case.state, "outcome": outcome, **extra}
    return client.post(f"/staff/cases/{case.request.reference}/move/", data)


@pytest.mark.parametrize(("from_state", "to_state"), EVERY_MOVE)
def test_a_move_is_asked_first_exactly_when_it_ends_active_work_or_starts_the_purge_clock(
    alice, from_state, to_state
):
    """Made through the service, a move that sets resolved_at or closed_at, or that
    makes the case one the purge will erase once its time is up, is one of those
    the case page asks about first."""
    case = case_in(from_state)
    services.move_case(case, to_state, actor=alice.user, outcome="referred")
    case.refresh_from_db()
    erased_one_day = expired_cases(now=case.last_activity_at + timedelta(days=100_000))

    weighty = bool(case.resolved_at or case.closed_at or erased_one_day.filter(pk=case.pk))

    assert weighty == ((from_state, to_state) in ASKED_FIRST)


@pytest.mark.parametrize(("from_state", "to_state"), ASKED_FIRST)
def test_a_weighty_move_asks_first_and_changes_nothing(client, alice, from_state, to_state):
    case = case_in(from_state)
    sign_in(client, alice)

    response = move(client, case, to_state)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="confirmation" value="' in page
    assert f'name="to_state" value="{to_state}"' in page
    assert Case.objects.get(pk=case.pk).state == from_state
    assert not AuditEntry.objects.filter(action="case.move").exists()


@pytest.mark.parametrize(("from_state", "to_state"), ASKED_FIRST)
def test_the_confirmation_makes_the_move(client, alice, from_state, to_state):
    case = case_in(from_state)
    sign_in(client, alice)

    page = move(client, case, to_state)
    response = move(client, case, to_state, confirmation=confirmation_on(page))

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == to_state
    assert AuditEntry.objects.get(action="case.move").detail["to_state"] == to_state


@pytest.mark.parametrize(
    ("from_state", "to_state"), [pair for pair in EVERY_MOVE if pair not in ASKED_FIRST]
)
def test_ordinary_moves_need_no_confirmation(client, alice, from_state, to_state):
    case = case_in(from_state)
    sign_in(client, alice)

    assert move(client, case, to_state).status_code == 302
    assert Case.objects.get(pk=case.pk).state == to_state


def test_the_resolution_page_names_the_outcome_and_says_it_can_be_reopened(client, alice):
    case = case_in("in_progress")
    sign_in(client, alice)

    page = move(client, case, "resolved", outcome="left_country").content.decode()

    assert f"Resolve {case.request.reference}?" in page
    assert "(Left the country)" in page
    assert 'name="outcome" value="left_country"' in page
    assert "can still be reopened" in page


def test_the_final_page_says_when_the_content_goes(client, alice, settings):
    settings.RETENTION_DAYS = 30
    case = case_in("new")
    sign_in(client, alice)

    page = move(client, case, "rejected").content.decode()

    assert f"Move {case.request.reference} for good?" in page
    assert "30 days after the case's last activity" in page


def test_resolving_without_an_outcome_is_refused_without_a_second_page(client, alice):
    case = case_in("in_progress")
    sign_in(client, alice)
    url = f"/staff/cases/{case.request.reference}/move/"

    response = client.post(
        url, {"to_state": "resolved", "expected_state": "in_progress", "outcome": ""}, follow=True
    )

    assert "Choose an outcome to resolve the case." in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == "in_progress"


def test_a_stale_page_is_refused_rather_than_confirmed(client, alice, bob):
    case = case_in("new")
    sign_in(client, alice)
    services.move_case(case, "triaged", actor=bob.user)

    response = client.post(
        f"/staff/cases/{case.request.reference}/move/",
        {"to_state": "rejected", "expected_state": "new"},
        follow=True,
    )

    assert "in the meantime; nothing was changed" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == "triaged"


def test_weighty_moves_look_different_on_the_case_page(client, alice):
    case = case_in("new")
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert page.count('<form class="move confirm-first final"') == 1
    assert page.count('class="confirm-first danger" aria-describedby="move-rejected-hint">') == 1
    # Not by colour alone: the words end in "…" and a hint says what comes.
    assert "Move to “Rejected”…</button>" in page
    assert "you will be asked to confirm" in page
    assert "Move to “Triaged”</button>" in page
    assert 'class="confirm-first' not in page.split("Move to “Triaged”")[0].rsplit("<form", 1)[1]


def test_resolving_looks_different_without_the_warning_colour(client, alice):
    case = case_in("in_progress")
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert 'class="confirm-first" aria-describedby="move-resolved-hint">' in page
    assert "Move to “Resolved”…</button>" in page
    assert "Move to “Waiting”</button>" in page
