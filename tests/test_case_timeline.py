"""
The case page's timeline: receipt, moves, assignments, notes, replies and the
requester's messages, newest last, each with who and when; words only through
the caseworker's own keys, and "locked" in their place otherwise.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.models import CaseEvent
from encryption import services as key_services
from intake.services import post_requester_message
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


def page_of(client, case) -> str:
    response = client.get(f"/staff/cases/{case.request.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def timeline_of(page: str) -> list[str]:
    """The entries of the timeline, as text on one line each."""
    listing = page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    entries = re.findall(r"<li\b.*?</li>", listing, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", entry).split()) for entry in entries]


def locked_reader(client, username: str = "nina"):
    """A caseworker with access whose session began before the organisation key
    was replaced: what is sealed from then on does not open in it."""
    reader = make_staff(username, "caseworker")
    sign_in(client, reader)
    key_services.start_rotation(actor=None, reason="rotate_content_key")
    return reader


def worked_case(alice, bob):
    """A case moved, assigned, noted, answered and written to, in that order."""
    case = CaseFactory(request__channel="web")
    CaseEvent.objects.create(case=case, kind="created", to_state="new", at=case.created_at)
    services.move_case(case, "triaged", actor=alice.user)
    services.assign_case(case, bob.user, actor=alice.user)
    services.add_note(case, "Asked for a safe number.", author=bob.user)
    services.reply_to_requester(case, "We read your request.", author=bob.user)
    post_requester_message(case.request, "Here is my number.")
    return case


def test_the_timeline_tells_the_case_in_order_with_who(client, alice, bob):
    case = worked_case(alice, bob)
    sign_in(client, alice)

    entries = timeline_of(page_of(client, case))

    assert len(entries) == 6
    assert entries[0].startswith("Requester ·") and "Request received (Web form)" in entries[0]
    assert entries[1].startswith("alice ·") and "Moved: New → Triaged" in entries[1]
    assert entries[2].startswith("alice ·") and "Assigned to bob" in entries[2]
    assert entries[3].startswith("bob ·") and "Note Asked for a safe number." in entries[3]
    assert entries[4].startswith("bob ·") and "We read your request." in entries[4]
    assert entries[5].startswith("Requester ·") and "Here is my number." in entries[5]


def test_the_requester_written_this_hour_comes_after_a_move_of_the_same_hour(client, alice):
    """A requester's time is the start of its hour: it still lands below the move
    a caseworker made before it, where the newest is looked for."""
    case = CaseFactory()
    post_requester_message(case.request, "Are you there?")
    services.move_case(case, "triaged", actor=alice.user)
    sign_in(client, alice)

    entries = timeline_of(page_of(client, case))

    assert "Moved: New → Triaged" in entries[-2]
    assert "Are you there?" in entries[-1]


def test_an_unassignment_and_a_final_move_with_its_outcome(client, alice, bob):
    case = CaseFactory(state="waiting")
    services.assign_case(case, bob.user, actor=alice.user)
    services.assign_case(case, None, actor=bob.user)
    services.move_case(case, "resolved", actor=bob.user, outcome="referred")
    sign_in(client, alice)

    entries = timeline_of(page_of(client, case))

    assert entries[-3].startswith("alice ·") and "Assigned to bob" in entries[-3]
    assert entries[-2].startswith("bob ·") and "Unassigned" in entries[-2]
    assert "Waiting → Resolved (Referred elsewhere)" in entries[-1]


def test_a_locked_session_sees_every_event_and_no_words(client, alice, bob):
    locked_reader(client)
    case = worked_case(alice, bob)

    page = page_of(client, case)
    entries = timeline_of(page)

    assert len(entries) == 6
    for words in ("Asked for a safe number.", "We read your request.", "Here is my number."):
        assert words not in page
    locked = [entry for entry in entries if "Locked: your session cannot open this text." in entry]
    assert [entry.split(" ·")[0] for entry in locked] == ["bob", "bob", "Requester"]
    assert "Assigned to bob" in entries[2]


def test_the_timeline_is_its_own_include(client, alice):
    case = CaseFactory()
    sign_in(client, alice)

    response = client.get(f"/staff/cases/{case.request.reference}/")

    assert "cases/_timeline.html" in [template.name for template in response.templates]


def grow(case, alice, times: int) -> None:
    for n in range(times):
        services.assign_case(case, alice.user if n % 2 else None, actor=alice.user)
        services.add_note(case, f"note {n}", author=alice.user)
        services.reply_to_requester(case, f"reply {n}", author=alice.user)
        post_requester_message(case.request, f"message {n}")
    moves = ["triaged", "in_progress", "waiting", "in_progress", "waiting"]
    for state in moves[: min(times, len(moves))]:
        services.move_case(case, state, actor=alice.user)


def queries_for(client, case) -> int:
    client.get(f"/staff/cases/{case.request.reference}/")  # work in passing settles
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/staff/cases/{case.request.reference}/")
    return len(captured)


@pytest.mark.parametrize("with_access", [True, False], ids=["open", "locked"])
def test_the_number_of_queries_does_not_grow_with_the_timeline(alice, with_access):
    client = Client()
    client.cookies["django_language"] = "en"
    if with_access:
        sign_in(client, make_staff("reader", "caseworker"))
    else:
        locked_reader(client, "reader")
    small, large = CaseFactory(), CaseFactory()
    grow(small, alice, 1)
    grow(large, alice, 12)

    assert len(timeline_of(page_of(client, large))) > 4 * len(timeline_of(page_of(client, small)))
    assert queries_for(client, small) == queries_for(client, large)


@pytest.mark.parametrize(
    ("language", "just_now", "within_the_hour"),
    [("en", "just now", "within the hour"), ("ru", "только что", "в течение часа")],
)
def test_a_moment_ago_reads_just_now_with_the_exact_time_beside_it(
    client, alice, language, just_now, within_the_hour
):
    case = CaseFactory(request__received_at=timezone.now() - timedelta(minutes=5))
    services.move_case(case, "triaged", actor=alice.user)
    sign_in(client, alice)
    client.cookies["django_language"] = language

    page = page_of(client, case)
    entries = timeline_of(page)

    moved = case.events.get(kind="moved").at
    stamp = timezone.localtime(moved).strftime("%Y-%m-%d %H:%M")
    assert f'<time datetime="{moved.isoformat()}" title="{stamp}">{just_now}</time>' in page
    assert f"{just_now} ({stamp})" in entries[-1]
    assert "0 minutes" not in page and "0 минут" not in page
    # The receipt's time is kept to the hour: no "just now" it could not know.
    assert within_the_hour in entries[0]
