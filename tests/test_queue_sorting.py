"""Sortable columns of the triage queue and the New view (GET `sort`, header
links that keep the filters and go back to the first page, `aria-sort`), and
the filter by a colleague."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


def received(days_ago: int, **fields) -> Case:
    case = CaseFactory(**fields)
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return case


def order(client, query: str, path: str = "/staff/") -> list[str]:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200
    return [row["request__reference"] for row in response.context["page"]]


def refs(*cases) -> list[str]:
    return [case.request.reference for case in cases]


def header(body: str, label: str) -> str:
    """The <th> whose link reads `label`."""
    found = re.search(rf'<th scope="col"[^>]*><a href="[^"]*" class="sort">{label}\b.*?</th>', body)
    assert found, label
    return found.group(0)


def test_each_column_sorts_both_ways(client, alice, bob):
    old_low = received(9, request__urgency="low", request__category="consultation")
    mid_critical = received(
        5, request__urgency="critical", request__category="border_crossing", state="in_progress"
    )
    new_normal = received(1, request__category="desertion", state="waiting")
    Case.objects.filter(pk=old_low.pk).update(assigned_to=bob.user)
    Case.objects.filter(pk=new_normal.pk).update(assigned_to=alice.user)
    sign_in(client, alice)

    assert order(client, "sort=received") == refs(old_low, mid_critical, new_normal)
    assert order(client, "sort=-received") == refs(new_normal, mid_critical, old_low)
    assert order(client, "sort=-urgency") == refs(mid_critical, new_normal, old_low)
    assert order(client, "sort=urgency") == refs(old_low, new_normal, mid_critical)
    assert order(client, "sort=state") == refs(old_low, mid_critical, new_normal)
    assert order(client, "sort=-state") == refs(new_normal, mid_critical, old_low)
    assert order(client, "sort=category") == refs(mid_critical, old_low, new_normal)
    assert order(client, "sort=-category") == refs(new_normal, old_low, mid_critical)
    # Nobody's cases come last whichever the direction.
    assert order(client, "sort=assignee") == refs(new_normal, old_low, mid_critical)
    assert order(client, "sort=-assignee") == refs(old_low, new_normal, mid_critical)


def test_category_sorts_by_its_code_keeping_each_category_together(client, alice):
    consultation = received(3, request__category="consultation")
    desertion_old = received(9, request__category="desertion")
    desertion_new = received(1, request__category="desertion")
    sign_in(client, alice)

    assert order(client, "sort=category") == refs(consultation, desertion_old, desertion_new)
    assert order(client, "sort=-category") == refs(desertion_old, desertion_new, consultation)


@pytest.mark.parametrize("bad", ["bogus", "id", "-request__contact", "created_at", "", "%00"])
def test_an_unknown_sort_is_ignored_and_the_queue_keeps_its_order(client, alice, bad):
    normal, critical = received(3), received(1, request__urgency="critical")
    sign_in(client, alice)

    response = client.get("/staff/", {"sort": bad})

    assert response.status_code == 200
    assert [r["request__reference"] for r in response.context["page"]] == refs(critical, normal)
    assert "aria-sort" not in response.content.decode()


def test_header_links_keep_the_filters_turn_round_and_go_back_to_page_one(client, alice):
    received(1, request__channel="telegram")
    sign_in(client, alice)

    body = client.get("/staff/?channel=telegram&page=1&sort=received").content.decode()
    received_th, urgency_th = header(body, "Received"), header(body, "Urgency")

    assert 'aria-sort="ascending"' in received_th
    assert "channel=telegram" in received_th and "sort=-received" in received_th
    assert "page=" not in received_th
    # Another column: no aria-sort, and its first click asks for its own first order.
    assert "aria-sort" not in urgency_th and "sort=-urgency" in urgency_th
    turned = client.get("/staff/?channel=telegram&sort=-received").content.decode()
    assert 'aria-sort="descending"' in header(turned, "Received")
    assert "sort=received" in header(turned, "Received")


def test_filtering_keeps_the_sort_and_paging_keeps_both(client, alice):
    for days in range(3):
        received(days + 1, request__language="en")
    sign_in(client, alice)

    body = client.get("/staff/?language=en&sort=-received").content.decode()

    assert '<input type="hidden" name="sort" value="-received">' in body
    assert 'name="back" value="queue?language=en&amp;sort=-received"' in body


def test_the_new_view_sorts_too(client, alice):
    low_new = received(1, request__urgency="low")
    high_old = received(5, request__urgency="high")
    sign_in(client, alice)

    assert order(client, "", "/staff/new/") == refs(low_new, high_old)
    assert order(client, "sort=-urgency", "/staff/new/") == refs(high_old, low_new)
    body = client.get("/staff/new/?sort=-urgency").content.decode()
    assert 'aria-sort="descending"' in header(body, "Urgency")
    assert 'name="back" value="new?sort=-urgency"' in body


def test_the_queue_filters_by_a_colleague_who_holds_access(client, alice, bob):
    bobs = CaseFactory(assigned_to=bob.user)
    CaseFactory(assigned_to=alice.user)
    CaseFactory()
    nina = make_staff("nina", "caseworker", with_access=False)
    sign_in(client, alice)

    assert order(client, f"assignee={bob.user.pk}") == refs(bobs)
    response = client.get("/staff/", {"assignee": nina.user.pk})
    # One who cannot read content is no choice: the filters say so and filter nothing.
    assert response.context["form"].errors
    assert f'<option value="{nina.user.pk}"' not in response.content.decode()
