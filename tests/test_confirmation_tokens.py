"""
Actions that ask first are confirmed by a one-time token from the
confirmation page (core/confirmation.py), not by a flag in the form (issue 21,
item 12): `confirmed=on` to /staff/bulk/ or `confirm=on` to /staff/held/reject/
used to skip the page. The token is bound to the person, the action and the
exact selection, works once, and expires.
"""

import pytest
from django.test import Client

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


def reject_in_bulk(client, cases, **extra):
    data = {"selected": [ref(c) for c in cases], "action": "reject_spam", "back": "queue"}
    return client.post("/staff/bulk/", {**data, **extra})


def asks_again(response) -> bool:
    return response.status_code == 200 and 'name="confirmation" value="' in (
        response.content.decode()
    )


def test_a_flag_in_the_form_no_longer_skips_the_bulk_confirmation(signed_in):
    spam = CaseFactory.create_batch(2)

    for flag in ({"confirmed": "on"}, {"confirmed": "yes"}, {"confirmation": "on"}):
        assert asks_again(reject_in_bulk(signed_in, spam, **flag))

    assert states(*spam) == ["new", "new"]
    assert not AuditEntry.objects.filter(action="case.move").exists()


def test_a_flag_in_the_form_no_longer_skips_the_held_rejection_page(signed_in):
    held = CaseFactory()
    hold_during_flood(held, "flood-a")

    response = signed_in.post(
        "/staff/held/reject/", {"scope": "case", "reference": ref(held), "confirm": "on"}
    )

    assert asks_again(response)
    assert Case.objects.get(pk=held.pk).flood_id is not None
    assert states(held) == ["new"]


def test_a_flag_no_longer_skips_a_final_move_or_an_admins_confirmation(signed_in, dave, bob):
    case = CaseFactory()
    move = signed_in.post(
        f"/staff/cases/{ref(case)}/move/",
        {"to_state": "rejected", "expected_state": "new", "confirmed": "yes"},
    )
    admin = Client()
    sign_in(admin, dave)
    deactivation = admin.post(f"/staff/accounts/{bob.user.pk}/deactivate/", {"confirmed": "yes"})

    assert asks_again(move) and asks_again(deactivation)
    assert states(case) == ["new"]
    bob.user.refresh_from_db()
    assert bob.user.is_active


def test_the_token_confirms_once(signed_in):
    first, second = CaseFactory(), CaseFactory()
    token = confirmation_on(reject_in_bulk(signed_in, [first]))

    reject_in_bulk(signed_in, [first], confirmation=token)
    replayed = reject_in_bulk(signed_in, [second], confirmation=token)

    assert states(first, second) == ["rejected", "new"]
    assert asks_again(replayed)


def test_the_token_confirms_only_the_selection_it_was_shown_for(signed_in):
    shown, slipped_in = CaseFactory(), CaseFactory()
    token = confirmation_on(reject_in_bulk(signed_in, [shown]))

    response = reject_in_bulk(signed_in, [shown, slipped_in], confirmation=token)

    assert asks_again(response)
    assert states(shown, slipped_in) == ["new", "new"]


def test_the_token_confirms_only_its_action(signed_in):
    held, case = CaseFactory(), CaseFactory()
    hold_during_flood(held, "flood-a")
    page = signed_in.post("/staff/held/reject/", {"scope": "case", "reference": ref(held)})

    response = reject_in_bulk(signed_in, [case], confirmation=confirmation_on(page))

    assert asks_again(response)
    assert states(case, held) == ["new", "new"]


def test_the_token_works_only_for_whoever_was_shown_the_page(signed_in, bob):
    case = CaseFactory()
    token = confirmation_on(reject_in_bulk(signed_in, [case]))
    other = Client()
    sign_in(other, bob)

    response = reject_in_bulk(other, [case], confirmation=token)

    assert asks_again(response)
    assert states(case) == ["new"]


def test_the_token_expires(signed_in, settings):
    settings.CONFIRMATION_SECONDS = 0
    case = CaseFactory()
    token = confirmation_on(reject_in_bulk(signed_in, [case]))

    assert asks_again(reject_in_bulk(signed_in, [case], confirmation=token))
    assert states(case) == ["new"]


def test_a_held_group_that_grew_since_the_page_is_asked_again(signed_in):
    first = CaseFactory()
    hold_during_flood(first, "flood-a")
    chosen = {"scope": "group", "reference": ref(first)}
    token = confirmation_on(signed_in.post("/staff/held/reject/", chosen))
    later = CaseFactory()
    hold_during_flood(later, "flood-a")

    response = signed_in.post("/staff/held/reject/", {**chosen, "confirmation": token})

    assert asks_again(response)
    assert "2 held requests" in response.content.decode()
    assert states(first, later) == ["new", "new"]


def test_a_revocation_is_not_done_by_a_post_that_skipped_its_page(signed_in, bob):
    from encryption import services as key_services

    skipped = signed_in.post(f"/staff/access/{bob.user.pk}/revoke/")

    assert asks_again(skipped)
    assert key_services.has_access(bob.user)
