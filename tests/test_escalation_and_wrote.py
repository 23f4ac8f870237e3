"""
A caseworker is told when their own requester writes (menu, New view, digest),
and critical or high requests nobody triaged in time are escalated: flagged in
the queue, counted in the menu and in every caseworker's digest.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cases.follow_up import send_digests
from cases.models import Case
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STAFF_URL = "https://tropa.example.org/staff/"
    settings.LANGUAGE_CODE = "en"


def written_to(assignee=None) -> Case:
    case = CaseFactory(state="in_progress", assigned_to=assignee)
    Case.objects.filter(pk=case.pk).update(unread_message_at=timezone.now())
    return case


def untriaged(urgency: str, hours_ago: float) -> Case:
    case = CaseFactory(request__urgency=urgency)
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return case


def escalated_rows(response) -> list[str]:
    return [row["request__reference"] for row in response.context["page"] if row["escalated"]]


# --- your requester wrote ---------------------------------------------------------


def test_the_menu_counts_ones_own_cases_written_to(client, alice, bob):
    written_to(alice.user)
    written_to(bob.user)
    sign_in(client, alice)

    menu = client.get("/staff/new/").content.decode()

    assert "2 unread" in menu and "1 of yours wrote" in menu


def test_the_new_view_lists_ones_own_cases_written_to(client, alice, bob):
    mine, theirs = written_to(alice.user), written_to(bob.user)
    sign_in(client, alice)

    page = client.get("/staff/new/").content.decode()
    section = page[page.index("Your requesters wrote") :]
    section = section[: section.index("</section>")]

    assert mine.request.reference in section
    assert theirs.request.reference not in section


def test_the_digest_names_ones_own_cases_written_to(mailbox, alice, bob):
    alice.user.email = "alice@example.org"
    alice.user.save()
    mine, theirs = written_to(alice.user), written_to(bob.user)

    assert send_digests() == 1

    (message,) = mail.outbox
    assert message.subject == "Your requesters wrote"
    assert mine.request.reference in message.body
    assert theirs.request.reference not in message.body


# --- escalation -----------------------------------------------------------------------


def test_urgent_requests_untriaged_too_long_are_flagged_in_the_queue(client, alice):
    late_critical = untriaged("critical", 3)
    fresh_critical = untriaged("critical", 1)
    late_high = untriaged("high", 25)
    fresh_high = untriaged("high", 23)
    old_normal = untriaged("normal", 100)
    sign_in(client, alice)

    flagged = escalated_rows(client.get("/staff/"))

    assert sorted(flagged) == sorted([late_critical.request.reference, late_high.request.reference])
    assert fresh_critical.request.reference not in flagged
    assert fresh_high.request.reference not in flagged
    assert old_normal.request.reference not in flagged
    assert "Not triaged in time" in client.get("/staff/").content.decode()


def test_a_triaged_request_is_no_longer_escalated(client, alice):
    case = untriaged("critical", 5)
    Case.objects.filter(pk=case.pk).update(state="triaged")
    sign_in(client, alice)

    assert escalated_rows(client.get("/staff/")) == []


def test_the_thresholds_follow_the_settings(client, alice, settings):
    settings.ESCALATE_CRITICAL_AFTER = 30 * 60
    settings.ESCALATE_HIGH_AFTER = 2 * 3600
    critical, high = untriaged("critical", 1), untriaged("high", 3)
    sign_in(client, alice)

    flagged = escalated_rows(client.get("/staff/"))

    assert sorted(flagged) == sorted([critical.request.reference, high.request.reference])


def test_the_menu_counts_escalated_requests(client, alice):
    untriaged("critical", 3)
    untriaged("high", 30)
    sign_in(client, alice)

    assert "2 overdue for triage" in client.get("/staff/new/").content.decode()


def test_every_caseworker_digest_counts_escalated_requests(mailbox, alice, bob):
    for staff, address in ((alice, "alice@example.org"), (bob, "bob@example.org")):
        staff.user.email = address
        staff.user.save()
    untriaged("critical", 3)

    assert send_digests() == 2

    assert {m.subject for m in mail.outbox} == {"1 urgent request waits for triage"}
    assert "https://tropa.example.org/staff/new/" in mail.outbox[0].body


def test_escalation_settings_are_durations(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import _env_duration

    monkeypatch.setenv("X_AFTER", "90m")
    assert _env_duration("X_AFTER", "2h") == 5400
    monkeypatch.delenv("X_AFTER")
    assert _env_duration("X_AFTER", "2h") == 7200
    monkeypatch.setenv("X_AFTER", "soon")
    with pytest.raises(ImproperlyConfigured, match="X_AFTER"):
        _env_duration("X_AFTER", "2h")
