"""
Bulk actions: rows chosen in the queue (or the New view, or the held list) are
assigned, triaged or rejected as spam together, each case through the same
services as on its own page and audited on its own; what could not be done is
skipped and said why. Rejection asks again first.
"""

import re

import pytest

from audit.models import AuditEntry
from cases.models import Case
from cases.services import hold_during_flood
from tests.factories import CaseFactory
from tests.staffing import confirmation_on, make_staff, sign_in

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


def test_assign_to_a_colleague_gives_them_the_open_cases_each_audited(signed_in, alice, bob):
    free, alices = CaseFactory(), CaseFactory(assigned_to=alice.user)
    already, finished = CaseFactory(assigned_to=bob.user), CaseFactory(state="closed")
    chosen = [ref(free), ref(alices), ref(already), ref(finished)]

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": chosen, "action": "assign_to", "assignee": bob.user.pk, "back": "queue"},
        follow=True,
    )

    assert [Case.objects.get(pk=c.pk).assigned_to for c in (free, alices, finished)] == [
        bob.user,
        bob.user,
        None,
    ]
    entries = AuditEntry.objects.filter(action="case.assign").order_by("pk")
    assert [(e.target, e.detail["assignee"], e.actor) for e in entries] == [
        (ref(free), "bob", "alice"),
        (ref(alices), "bob", "alice"),
    ]
    messages = said(response)
    assert "2 cases assigned to bob." in messages
    assert any(f"{ref(already)}: already assigned to them" in m for m in messages)
    assert any(f"{ref(finished)}: finished (“Closed”)" in m for m in messages)


@pytest.mark.parametrize("who", ["nina", "carol", "nobody", ""])
def test_assign_to_is_refused_for_anyone_who_cannot_read_content(signed_in, carol, who):
    nina = make_staff("nina", "caseworker", with_access=False)
    case = CaseFactory()
    assignee = {"nina": nina.user.pk, "carol": carol.user.pk, "nobody": 99999, "": ""}[who]

    response = signed_in.post(
        "/staff/bulk/",
        {"selected": [ref(case)], "action": "assign_to", "assignee": assignee, "back": "queue"},
        follow=True,
    )

    assert Case.objects.get().assigned_to is None
    assert not AuditEntry.objects.filter(action="case.assign").exists()
    assert (
        "Cases can be given only to a caseworker who can read them; nothing was changed."
        in said(response)
    )


def test_the_bulk_colleague_list_offers_only_caseworkers_with_access(signed_in, bob, carol):
    make_staff("nina", "caseworker", with_access=False)
    CaseFactory()

    body = signed_in.get("/staff/").content.decode()
    start = body.index('id="bulk-assignee"')
    offered = body[start : body.index("</select>", start)]

    assert ">bob<" in offered and ">alice<" in offered
    assert ">nina<" not in offered and ">carol<" not in offered


def test_resolve_as_lost_contact_asks_first_then_resolves_those_that_can_be(signed_in):
    working, waiting = CaseFactory(state="in_progress"), CaseFactory(state="waiting")
    fresh = CaseFactory()
    chosen = [ref(working), ref(waiting), ref(fresh)]

    confirm = signed_in.post(
        "/staff/bulk/", {"selected": chosen, "action": "resolve_lost", "back": "queue?sort=state"}
    )

    body = confirm.content.decode()
    assert confirm.status_code == 200
    assert "2 cases will be resolved with the outcome “Lost contact”" in body
    assert ref(fresh) in body[body.index("Left as they are") :]
    assert states(working, waiting, fresh) == ["in_progress", "waiting", "new"]
    # The page's form carries the cases that can be resolved, and the token for them.
    listed = re.findall(r'name="selected" value="([^"]+)"', body)
    assert sorted(listed) == sorted([ref(working), ref(waiting)])
    done = signed_in.post(
        "/staff/bulk/",
        {
            "selected": listed,
            "action": "resolve_lost",
            "back": "queue?sort=state",
            "confirmation": confirmation_on(confirm),
        },
        follow=True,
    )

    assert states(working, waiting, fresh) == ["resolved", "resolved", "new"]
    assert {Case.objects.get(pk=c.pk).outcome for c in (working, waiting)} == {"lost_contact"}
    assert Case.objects.get(pk=fresh.pk).outcome == ""
    moves = AuditEntry.objects.filter(action="case.move", detail__to_state="resolved")
    assert sorted(moves.values_list("target", flat=True)) == sorted([ref(working), ref(waiting)])
    assert done.redirect_chain[-1][0] == "/staff/?sort=state"
    assert "2 cases moved to “Resolved”." in said(done)


def test_a_lost_contact_confirmation_does_not_serve_for_rejection(signed_in):
    working = CaseFactory(state="in_progress")
    confirm = signed_in.post("/staff/bulk/", {"selected": [ref(working)], "action": "resolve_lost"})

    again = signed_in.post(
        "/staff/bulk/",
        {
            "selected": [ref(working)],
            "action": "reject_spam",
            "confirmation": confirmation_on(confirm),
        },
    )

    assert again.status_code == 200  # asked again, for the rejection itself
    assert states(working) == ["in_progress"]


def test_bulk_actions_need_the_organisation_key(client):
    nina = make_staff("nina", "caseworker", with_access=False)
    case = CaseFactory(state="in_progress")
    sign_in(client, nina)

    for action in ("assign_to", "resolve_lost"):
        response = client.post(
            "/staff/bulk/",
            {"selected": [ref(case)], "action": action, "assignee": nina.user.pk},
        )
        assert response.status_code == 403

    case.refresh_from_db()
    assert (case.state, case.assigned_to) == ("in_progress", None)
    assert AuditEntry.objects.filter(action="case.refused").count() == 2


def test_a_bulk_action_goes_back_with_every_queue_filter_and_the_sort(signed_in):
    case = CaseFactory()
    back = (
        "queue?channel=telegram&language=ru&received_from=2026-11-01&received_to=2026-11-30"
        "&sort=-urgency&q=secret"
    )

    response = signed_in.post(
        "/staff/bulk/", {"selected": [ref(case)], "action": "triage", "back": back}
    )

    assert response["Location"] == (
        "/staff/?channel=telegram&language=ru&received_from=2026-11-01&received_to=2026-11-30"
        "&sort=-urgency"
    )
