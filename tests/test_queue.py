"""The triage queue: open cases, most urgent and oldest first, nothing decrypted."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from intake.services import post_requester_message
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


# --- new first -------------------------------------------------------------------------


def test_resolved_cases_leave_the_default_queue_but_a_state_filter_shows_them(client, alice):
    working = CaseFactory(state="in_progress")
    resolved = CaseFactory(state="resolved", outcome="referred")
    closed = CaseFactory(state="closed", outcome="referred")
    sign_in(client, alice)

    assert references(client.get("/staff/")) == [working.request.reference]
    assert references(client.get("/staff/?state=resolved")) == [resolved.request.reference]
    assert references(client.get("/staff/?state=closed")) == [closed.request.reference]


def test_a_new_high_request_is_on_the_first_page_of_its_filter(client, alice):
    CaseFactory.create_batch(
        60, state="in_progress", request__urgency="high", request__received_at=days_ago(30)
    )
    arrived = CaseFactory(request__urgency="high", request__received_at=days_ago(0))
    sign_in(client, alice)

    first_page = references(client.get("/staff/?urgency=high"))

    assert first_page[0] == arrived.request.reference


def test_untriaged_cases_come_first_within_an_urgency_and_urgency_still_leads(client, alice):
    old_working = CaseFactory(state="triaged", request__received_at=days_ago(9))
    new_normal = CaseFactory(request__received_at=days_ago(1))
    critical_working = CaseFactory(
        state="in_progress", request__urgency="critical", request__received_at=days_ago(20)
    )
    sign_in(client, alice)

    assert references(client.get("/staff/")) == [
        critical_working.request.reference,
        new_normal.request.reference,
        old_working.request.reference,
    ]


def test_the_column_of_age_is_not_called_waiting(client, alice):
    CaseFactory(request__received_at=days_ago(3))
    sign_in(client, alice)

    body = client.get("/staff/").content.decode()

    assert 'class="sort">Received<' in body  # the header sorts (tests/test_queue_sorting.py)
    assert ">Waiting<" not in body[body.index("<thead>") : body.index("</thead>")]
    assert "3\xa0days ago" in body


def test_a_row_with_an_unread_requester_message_is_marked(client, alice):
    unread = CaseFactory(state="waiting", unread_message_at=timezone.now())
    CaseFactory(state="waiting")
    sign_in(client, alice)

    body = client.get("/staff/").content.decode()

    assert body.count("Unread message</span>") == 1
    marked = f'{unread.request.reference}</a> <span class="badge unread">Unread message</span>'
    assert marked in body


def test_the_new_view_lists_untriaged_requests_newest_first(client, alice):
    older = CaseFactory(request__received_at=days_ago(2))
    newer = CaseFactory(request__received_at=days_ago(1))
    CaseFactory(state="triaged")
    sign_in(client, alice)

    response = client.get("/staff/new/")

    assert response.status_code == 200
    assert references(response) == [newer.request.reference, older.request.reference]


def test_the_menu_counts_new_requests_and_unread_messages(client, alice):
    CaseFactory.create_batch(2)
    CaseFactory(state="waiting", unread_message_at=timezone.now())
    sign_in(client, alice)

    body = client.get("/staff/security/").content.decode()

    assert 'href="/staff/new/" class="new-link">New <span class="counts">(2, 1 unread)' in body


def test_the_menu_counts_follow_a_triage_at_once(client, alice):
    case = CaseFactory()
    CaseFactory()
    sign_in(client, alice)
    assert "(2)" in client.get("/staff/").content.decode()

    client.post(
        f"/staff/cases/{case.request.reference}/move/",
        {"to_state": "triaged", "expected_state": "new"},
    )

    assert "(1)</span>" in client.get("/staff/").content.decode()


def test_a_requester_message_shows_in_the_menu_at_once(client, alice):
    case = CaseFactory(state="waiting")
    sign_in(client, alice)
    assert "unread" not in client.get("/staff/security/").content.decode()

    post_requester_message(case.request, "I am across the border.")

    assert "(0, 1 unread)" in client.get("/staff/security/").content.decode()


def test_the_menu_counts_are_kept_briefly_rather_than_counted_on_every_page(client, alice):
    CaseFactory()
    sign_in(client, alice)
    client.get("/staff/security/")
    CaseFactory()  # stored behind the services' back: counted within NAV_COUNTS_SECONDS

    with CaptureQueriesContext(connection) as captured:
        body = client.get("/staff/security/").content.decode()

    assert "(1)</span>" in body
    assert not any("cases_case" in query["sql"] for query in captured.captured_queries)


def test_the_new_view_costs_the_same_queries_whatever_the_number_of_cases(client, alice):
    CaseFactory.create_batch(3)
    sign_in(client, alice)
    client.get("/staff/new/")
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/new/")
    CaseFactory.create_batch(60, unread_message_at=timezone.now())
    cache.clear()  # counted again, as once every few seconds
    with CaptureQueriesContext(connection) as cold:
        client.get("/staff/new/")
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/new/")

    assert len(many) == len(few)
    # The menu's counts: new, unread, escalated, held, and one's own written to.
    assert len(cold) == len(few) + 5


def test_a_coordinator_sees_no_new_view_and_no_counts(client, carol):
    CaseFactory()
    sign_in(client, carol)

    assert client.get("/staff/new/").status_code == 403
    assert "/staff/new/" not in client.get("/staff/dashboard/").content.decode()


def test_with_the_cache_unreachable_the_menu_is_counted_every_time(client, alice, settings):
    CaseFactory()
    sign_in(client, alice)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    response = client.get("/staff/")

    assert response.status_code == 200
    assert 'New <span class="counts">(1)</span>' in response.content.decode()
