"""The triage queue: open cases, most urgent and oldest first, nothing decrypted."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def references(response) -> list[str]:
    return [row["request__reference"] for row in response.context["page"]]


def test_it_lists_open_cases_most_urgent_then_oldest(client, alice):
    old_normal = CaseFactory(request__urgency="normal", request__received_at=days_ago(9))
    new_critical = CaseFactory(request__urgency="critical", request__received_at=days_ago(1))
    old_critical = CaseFactory(request__urgency="critical", request__received_at=days_ago(5))
    CaseFactory(state="closed", outcome="referred", request__urgency="critical")
    CaseFactory(state="rejected")
    sign_in(client, alice)

    response = client.get("/staff/")

    assert references(response) == [
        old_critical.request.reference,
        new_critical.request.reference,
        old_normal.request.reference,
    ]


def test_it_shows_no_decrypted_content(client, alice):
    case = CaseFactory(request__narrative="the secret story", request__contact="@hidden_handle")
    sign_in(client, alice)

    body = client.get("/staff/").content.decode()

    assert case.request.reference in body
    assert "the secret story" not in body
    assert "@hidden_handle" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=triaged", {"triaged"}),
        ("category=border_crossing", {"border"}),
        ("urgency=high", {"high"}),
        ("assignee=mine", {"mine"}),
        ("assignee=unassigned", {"triaged", "border", "high"}),
    ],
)
def test_it_filters(client, alice, bob, query, expected):
    made = {
        "triaged": CaseFactory(state="triaged"),
        "border": CaseFactory(request__category="border_crossing"),
        "high": CaseFactory(request__urgency="high"),
        "mine": CaseFactory(assigned_to=alice.user),
        "theirs": CaseFactory(assigned_to=bob.user),
    }
    sign_in(client, alice)

    shown = set(references(client.get(f"/staff/?{query}")))

    assert shown == {made[name].request.reference for name in expected}


def test_an_unknown_filter_value_shows_the_whole_queue(client, alice):
    CaseFactory()
    sign_in(client, alice)

    response = client.get("/staff/?state=closed&urgency=apocalyptic")

    assert response.status_code == 200
    assert len(references(response)) == 1


def test_it_is_paginated_and_keeps_filters_across_pages(client, alice):
    CaseFactory.create_batch(55, request__urgency="low")
    sign_in(client, alice)

    first = client.get("/staff/?urgency=low")
    second = client.get("/staff/?urgency=low&page=2")

    assert len(references(first)) == 50
    assert len(references(second)) == 5
    assert "urgency=low&amp;page=2" in first.content.decode()


def test_it_says_so_when_the_queue_is_empty(client, alice):
    sign_in(client, alice)

    assert "No open cases" in client.get("/staff/").content.decode()


def test_the_number_of_queries_does_not_grow_with_the_page(client, alice):
    CaseFactory.create_batch(3, assigned_to=alice.user)
    sign_in(client, alice)
    client.get("/staff/")  # the menu's counts are then kept a few seconds
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/")
    CaseFactory.create_batch(60, assigned_to=alice.user)
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/")

    assert len(many) == len(few)
