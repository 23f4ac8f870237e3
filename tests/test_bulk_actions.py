"""
Bulk actions: rows chosen in the queue (or the New view, or the held list) are
assigned, triaged or rejected as spam together, each case through the same
services as on its own page and audited on its own; what could not be done is
skipped and said why. Rejection asks again first.
"""

import pytest

from audit.models import AuditEntry
from cases.models import Case
from cases.services import hold_during_flood
from tests.factories import CaseFactory
from tests.staffing import confirmation_on, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    sign_in(client, alice)
    return client


def ref(case) -> str:
    return case.request.reference


def states(*cases) -> list[str]:
    return [Case.objects.get(pk=case.pk).state for case in cases]


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_queue_has_a_checkbox_on_each_row_in_one_form(signed_in):
    cases = CaseFactory.create_batch(3)

    body = signed_in.get("/staff/").content.decode()

    assert body.count('type="checkbox" name="selected"') == 3
    assert f'value="{ref(cases[0])}"' in body
    assert '<form class="bulk" method="post" action="/staff/bulk/">' in body
    assert 'value="reject_spam" class="danger"' in body


def test_triage_moves_the_new_ones_and_skips_the_rest_saying_why(signed_in):
    first, second = CaseFactory.create_batch(2)
    working = CaseFactory(state="in_progress")

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": [ref(first), ref(second), ref(working)], "action": "triage", "back": "queue"},
        follow=True,
    )

    assert states(first, second, working) == ["triaged", "triaged", "in_progress"]
    moves = AuditEntry.objects.filter(action="case.move", detail__to_state="triaged")
    assert sorted(moves.values_list("target", flat=True)) == sorted([ref(first), ref(second)])
    messages = said(response)
    assert "2 cases moved to “Triaged”." in messages
    assert f"1 skipped: {ref(working)}: not possible from “In progress”." in messages


def test_assign_to_me_takes_the_unassigned_and_leaves_a_colleagues_case(signed_in, alice, bob):
    free = CaseFactory()
    theirs = CaseFactory(assigned_to=bob.user)

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": [ref(free), ref(theirs)], "action": "assign_me", "back": "queue"},
        follow=True,
    )

    free.refresh_from_db(), theirs.refresh_from_db()
    assert (free.assigned_to, theirs.assigned_to) == (alice.user, bob.user)
    assert list(
        AuditEntry.objects.filter(action="case.assign").values_list("target", flat=True)
    ) == [ref(free)]
    assert "1 case assigned to you." in said(response)
    assert f"1 skipped: {ref(theirs)}: assigned to bob." in said(response)


def test_reject_as_spam_asks_first_and_changes_nothing_until_confirmed(signed_in):
    spam = CaseFactory.create_batch(2)
    working = CaseFactory(state="in_progress")
    chosen = [ref(spam[0]), ref(spam[1]), ref(working)]

    confirm = signed_in.post(
        "/staff/bulk/", {"selected": chosen, "action": "reject_spam", "back": "queue"}
    )

    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "2 cases will be rejected as spam" in body
    assert 'class="danger">Reject 2 cases as spam' in body
    assert "Left as they are" in body and ref(working) in body
    assert states(*spam, working) == ["new", "new", "in_progress"]
    assert not AuditEntry.objects.filter(action="case.move").exists()

    done = signed_in.post(
        "/staff/bulk/",
        {
            "selected": chosen[:2],
            "action": "reject_spam",
            "confirmation": confirmation_on(confirm),
            "back": "queue",
        },
        follow=True,
    )

    assert states(*spam, working) == ["rejected", "rejected", "in_progress"]
    assert AuditEntry.objects.filter(action="case.move", detail__to_state="rejected").count() == 2
    assert "2 cases moved to “Rejected”." in said(done)


def test_it_goes_back_to_the_same_filters_and_page(signed_in):
    case = CaseFactory(request__urgency="high")

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": [ref(case)], "action": "triage", "back": "queue?urgency=high&page=2&x=1"},
    )

    assert response["Location"] == "/staff/?urgency=high&page=2"


def test_it_never_goes_back_to_an_address_from_the_form(signed_in):
    case = CaseFactory()

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": [ref(case)], "action": "triage", "back": "https://evil.example/?"},
    )

    assert response["Location"] == "/staff/"


def test_with_nothing_selected_nothing_changes(signed_in):
    response = signed_in.post("/staff/bulk/", {"action": "triage", "back": "new"}, follow=True)

    assert response.redirect_chain == [("/staff/new/", 302)]
    assert "Select at least one case first; nothing was changed." in said(response)


def test_the_new_view_offers_the_same_actions(signed_in):
    CaseFactory()

    body = signed_in.get("/staff/new/").content.decode()

    assert 'name="back" value="new?"' in body
    assert 'type="checkbox" name="selected"' in body


def test_a_held_case_is_skipped_from_the_queue_form(signed_in):
    held = CaseFactory()
    hold_during_flood(held, "digest-of-a-bot-text")

    response = signed_in.post(
        "/staff/bulk/", {"selected": [ref(held)], "action": "triage", "back": "queue"}, follow=True
    )

    assert states(held) == ["new"]
    assert f"1 skipped: {ref(held)}: held during a flood: see the held list." in said(response)


def test_a_coordinator_cannot_act_in_bulk(client, carol):
    case = CaseFactory()
    sign_in(client, carol)

    response = client.post("/staff/bulk/", {"selected": [ref(case)], "action": "triage"})

    assert response.status_code == 403
    assert states(case) == ["new"]


# --- the held list -------------------------------------------------------------------


def held_groups() -> dict[str, list[Case]]:
    groups = {}
    for digest, size in [("bot-a", 3), ("bot-b", 2), ("real", 1)]:
        groups[digest] = CaseFactory.create_batch(size)
        for case in groups[digest]:
            hold_during_flood(case, digest)
    return groups


def test_the_held_list_releases_the_selected_groups(signed_in):
    groups = held_groups()

    body = signed_in.get("/staff/held/").content.decode()
    assert body.count('type="checkbox" form="held-bulk" name="selected"') == 3

    signed_in.post(
        "/staff/held/release/",
        {"scope": "selected", "selected": [ref(groups["bot-a"][0]), ref(groups["real"][0])]},
    )

    still_held = set(Case.objects.filter(flood__isnull=False).values_list("pk", flat=True))
    assert still_held == {case.pk for case in groups["bot-b"]}
    assert AuditEntry.objects.filter(action="case.release").count() == 4


def test_the_held_list_rejects_the_selected_groups_after_asking(signed_in):
    groups = held_groups()
    chosen = {"scope": "selected", "selected": [ref(groups["bot-a"][0]), ref(groups["bot-b"][1])]}

    confirm = signed_in.post("/staff/held/reject/", chosen)

    assert "5 held requests with the same text will be rejected" in confirm.content.decode()
    assert Case.objects.filter(flood__isnull=False).count() == 6

    signed_in.post("/staff/held/reject/", {**chosen, "confirmation": confirmation_on(confirm)})

    assert Case.objects.filter(state="rejected").count() == 5
    assert list(Case.objects.filter(flood__isnull=False)) == groups["real"]
    assert AuditEntry.objects.filter(action="case.move", detail__to_state="rejected").count() == 5


def test_the_held_list_says_so_when_no_group_is_ticked(signed_in):
    held_groups()

    response = signed_in.post("/staff/held/release/", {"scope": "selected"}, follow=True)

    assert "Tick at least one group first; nothing was changed." in said(response)
    assert Case.objects.filter(flood__isnull=False).count() == 6
