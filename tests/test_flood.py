"""
A flood does not lock real requesters out: past the global ceiling requests are
still stored and given receipts, but held out of the triage queue, grouped by
identical text, for caseworkers to release or reject as spam.
"""

import io
import json
import re
import secrets
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEntry
from cases.follow_up import send_digests
from cases.models import Case, Flood, FloodRejection
from cases.selectors import held_bytes
from cases.services import run_flood_rejection
from config.settings import _env_size
from encryption.digests import keyed_digest
from intake.models import HelpRequest
from intake.services import (
    LONGEST_REQUEST_BYTES,
    create_bot_token,
    find_by_receipt,
    hold_limit,
    narrative_digest,
)
from intake.tasks import notify_pending_cases
from tests.factories import CaseFactory
from tests.intake_helpers import form_data, receipt_of
from tests.staffing import confirmation_on, confirmed_post, sign_in

pytestmark = pytest.mark.django_db

BOT_TEXT = "Click here for cheap tickets, best price, write now!"


def bot_copy(n: int) -> str:
    """The bot's text, varied only in case and spacing from post to post."""
    return BOT_TEXT.upper() if n % 3 == 0 else BOT_TEXT.replace(" ", "  ") if n % 3 else BOT_TEXT


def first_page(staff) -> list[str]:
    return [row["request__reference"] for row in staff.get("/staff/").context["page"]]


@pytest.fixture
def staff(alice):
    from django.test import Client

    client = Client()
    client.cookies["django_language"] = "en"
    sign_in(client, alice)
    return client


@pytest.fixture
def onion(settings):
    """Behind an onion service: no per-sender limit, the default global ceiling."""
    settings.INTAKE_RATE_LIMIT = "0"
    settings.INTAKE_GLOBAL_LIMIT = "600/h"


def test_after_2000_bot_posts_a_real_request_is_received_and_held(client, staff, onion):
    waiting = CaseFactory.create_batch(
        50, request__urgency="critical", request__received_at=timezone.now() - timedelta(days=2)
    )
    queue_before = first_page(staff)

    bots = [
        client.post("/", form_data(narrative=bot_copy(n), contact=f"@bot{n}")).status_code
        for n in range(2000)
    ]
    real = client.post("/", form_data(narrative="I was mobilised last week and want out."))

    assert bots == [200] * 2000  # nobody is turned away...
    code = receipt_of(real)  # ...least of all the real requester, who gets a receipt
    assert "Received." in client.post("/status/", {"code": code}).content.decode()
    assert first_page(staff) == queue_before == [c.request.reference for c in waiting]
    mine = find_by_receipt(code)
    held = staff.get("/staff/held/")
    page = held.content.decode()
    assert mine.reference in page
    assert [group["size"] for group in held.context["groups"]] == [1400, 1]
    assert Case.objects.filter(flood__isnull=False).count() == 1401
    assert "1401 requests are held during a flood" in staff.get("/staff/").content.decode()


def test_a_bot_group_is_rejected_in_one_confirmed_action_and_the_real_one_released(
    client, staff, settings
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "2/h"
    settings.INTAKE_NOTIFY_EMAIL = "duty@example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for n in range(12):
        client.post("/", form_data(narrative=bot_copy(n)))
    real = receipt_of(client.post("/", form_data(narrative="Please help, I am at the front.")))
    assert notify_pending_cases() == 2  # the two under the ceiling; none of the held
    mail.outbox.clear()
    bot_member = Case.objects.filter(flood__isnull=False).order_by("pk").first()
    reference = bot_member.request.reference
    entries_before = AuditEntry.objects.count()

    confirm = staff.post("/staff/held/reject/", {"reference": reference, "scope": "group"})
    assert confirm.status_code == 200
    assert "10 held requests with the same text will be rejected" in confirm.content.decode()
    assert Case.objects.filter(flood__isnull=False).count() == 11  # nothing changed yet
    staff.post(
        "/staff/held/reject/",
        {"reference": reference, "scope": "group", "confirmation": confirmation_on(confirm)},
    )

    held = Case.objects.filter(flood__isnull=False)
    assert held.count() == 1 and held.get().flood_digest
    rejected = Case.objects.filter(state="rejected")
    assert rejected.count() == 10
    assert set(rejected.values_list("flood_digest", flat=True)) == {""}
    assert AuditEntry.objects.filter(action="case.move", detail__to_state="rejected").count() == 10
    assert AuditEntry.objects.count() == entries_before + 10
    assert notify_pending_cases() == 0 and mail.outbox == []  # held and rejected: no notice

    real_case = held.get()
    staff.post("/staff/held/release/", {"reference": real_case.request.reference, "scope": "case"})

    real_case.refresh_from_db()
    assert (real_case.flood, real_case.flood_digest) == (None, "")
    assert real_case.request.reference in first_page(staff)
    assert AuditEntry.objects.filter(action="case.release").count() == 1
    assert notify_pending_cases() == 1 and len(mail.outbox) == 1
    assert "Received." in client.post("/status/", {"code": real}).content.decode()


def test_past_the_hold_limit_the_requester_gets_a_calm_page_that_keeps_what_they_typed(
    client, settings
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "2/h"
    settings.INTAKE_HOLD_LIMIT = 1  # byte: the first held request fills it
    statuses = [client.post("/", form_data()).status_code for _ in range(3)]
    typed = form_data(
        narrative="Меня мобилизовали, часть уходит в четверг.",
        contact="@still_here_42",
        alias="Sasha",
        urgency="high",
    )

    refused = client.post("/", typed)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "nothing was stored" in page and "in about 60 minutes" in page
    assert typed["narrative"] in page and 'value="@still_here_42"' in page
    assert 'value="Sasha"' in page and re.search(r'value="high"[^>]*checked', page)
    assert HelpRequest.objects.count() == 3
    assert Case.objects.filter(flood__isnull=False).count() == 1


def test_the_hold_list_is_sized_by_bytes_so_short_texts_leave_room(client, settings):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    settings.INTAKE_HOLD_LIMIT = 120 * 1024
    client.post("/", form_data())  # under the ceiling

    short = [client.post("/", form_data(narrative=f"spam {n}")).status_code for n in range(30)]
    long = [client.post("/", form_data(narrative="я" * 10_000)).status_code for _ in range(6)]

    assert short == [200] * 30  # thirty short texts are far from the limit...
    assert 200 in long and long[-1] == 429  # ...a few of the longest fill it
    assert held_bytes() >= settings.INTAKE_HOLD_LIMIT


def test_the_default_hold_list_holds_a_day_at_the_ceiling_of_the_longest_requests(client, settings):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    settings.INTAKE_HOLD_LIMIT = None
    client.post("/", form_data())
    client.post(
        "/", form_data(narrative="😀" * 10_000, contact="𝕏" * 200, alias="ж" * 100)
    )  # the longest there is, held

    assert held_bytes() <= LONGEST_REQUEST_BYTES
    assert hold_limit() == 24 * LONGEST_REQUEST_BYTES
    settings.INTAKE_GLOBAL_LIMIT = "600/h"
    assert hold_limit() == 600 * 24 * LONGEST_REQUEST_BYTES


@pytest.mark.parametrize(
    ("written", "size"), [("2GB", 2 * 1024**3), ("500 MB", 500 * 1024**2), ("1.5kb", 1536)]
)
def test_the_hold_limit_is_written_as_a_size(monkeypatch, written, size):
    monkeypatch.setenv("INTAKE_HOLD_LIMIT", written)

    assert _env_size("INTAKE_HOLD_LIMIT") == size


@pytest.mark.parametrize("written", ["20000", "2 gigabytes", "-1GB"])
def test_a_hold_limit_that_is_not_a_size_is_refused_by_name(monkeypatch, written):
    monkeypatch.setenv("INTAKE_HOLD_LIMIT", written)

    with pytest.raises(ImproperlyConfigured, match="INTAKE_HOLD_LIMIT must be a size"):
        _env_size("INTAKE_HOLD_LIMIT")


def test_the_bot_api_follows_the_same_rule(client, settings, alice):
    settings.INTAKE_GLOBAL_LIMIT = "1/h"
    settings.INTAKE_HOLD_LIMIT = 1
    token = create_bot_token("flood-bot", "telegram", actor=alice.user)[1]
    body = json.dumps({k: v for k, v in form_data().items() if k != "alias"})

    def post():
        return client.post(
            "/api/v1/requests", body, content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ).status_code  # fmt: skip

    assert [post(), post(), post()] == [201, 201, 429]  # (1 byte: the first held fills it)
    assert Case.objects.filter(flood__isnull=False).count() == 1


def test_held_requests_count_in_the_monthly_report_and_digests_exist_only_while_held(
    client, settings
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for _ in range(3):
        client.post("/", form_data())
    out = io.StringIO()
    call_command("monthly_report", timezone.localdate().strftime("%Y-%m"), "--json", stdout=out)

    assert json.loads(out.getvalue())["requests"] == 3
    digests = list(Case.objects.order_by("pk").values_list("flood_digest", flat=True))
    assert digests[0] == "" and digests[1] == digests[2] != ""


def test_the_held_list_is_for_caseworkers(client, carol):
    sign_in(client, carol)

    assert client.get("/staff/held/").status_code == 403
    assert (
        client.post("/staff/held/reject/", {"reference": "x", "scope": "group"}).status_code == 403
    )


# --- a whole flood in one confirmed action -----------------------------------------


def window_of(flood: Flood) -> dict:
    """The time window the held list offers for this flood, as its form posts it."""
    until = flood.last_held_at + timedelta(hours=1)
    return {
        "since": timezone.localtime(flood.started_at).strftime("%Y-%m-%dT%H:%M"),
        "until": timezone.localtime(until).strftime("%Y-%m-%dT%H:%M"),
    }


def worker_runs(job) -> None:
    """What the worker does with the queued task. With eager Celery (no Redis)
    it ran already and this does nothing; with a real broker, the worker cannot
    see this test's uncommitted rows, so the test runs the task's work here."""
    run_flood_rejection(job.pk)


def test_a_flood_of_random_narratives_is_rejected_in_one_confirmed_action(
    client, staff, onion, settings, django_capture_on_commit_callbacks
):
    # The review's replay: no per-sender limit, 75 random texts, then a real one.
    settings.INTAKE_GLOBAL_LIMIT = "35/h"
    settings.INTAKE_HOLD_LIMIT = None  # the default: a day of floods
    bots = [
        client.post("/", form_data(narrative=secrets.token_urlsafe(40))).status_code
        for _ in range(75)
    ]
    real = client.post("/", form_data(urgency="critical", narrative="Help, I am at the front."))

    assert bots == [200] * 75
    mine = find_by_receipt(receipt_of(real))
    assert mine.case.flood_id is not None  # stored and held, not refused
    assert len(staff.get("/staff/held/").context["groups"]) == 41  # one group each
    staff.post("/staff/held/release/", {"reference": mine.reference, "scope": "case"})
    window = window_of(Flood.objects.get())

    confirm = staff.post("/staff/held/reject-window/", window)

    assert confirm.status_code == 200
    assert "All 40 requests held now" in confirm.content.decode()
    assert not FloodRejection.objects.exists()
    last = confirm.context["last_case_id"]
    with django_capture_on_commit_callbacks(execute=True):
        done = staff.post(
            "/staff/held/reject-window/",
            {**window, "last_case_id": last, "confirmation": confirmation_on(confirm)},
        )

    assert done.status_code == 302
    worker_runs(FloodRejection.objects.get())
    assert Case.objects.filter(state="rejected").count() == 40
    assert not Case.objects.filter(flood__isnull=False).exists()
    assert set(Case.objects.values_list("flood_digest", flat=True)) == {""}
    assert held_bytes() == 0
    job = FloodRejection.objects.get()
    assert (job.state, job.expected, job.rejected) == ("done", 40, 40)
    started = AuditEntry.objects.get(action="held.reject_window")
    finished = AuditEntry.objects.get(action="held.rejected_window")
    assert (started.actor, started.detail["held"]) == ("alice", 40)
    assert (finished.actor, finished.detail["rejected"]) == ("alice", 40)
    assert not AuditEntry.objects.filter(action="case.move").exists()  # counts, not 40 entries
    assert mine.reference in first_page(staff)
    assert "40 requests rejected." in staff.get("/staff/held/").content.decode()


def test_a_flood_rejection_shows_its_progress_and_spares_requests_held_after_it(
    client, staff, settings, django_capture_on_commit_callbacks
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for n in range(4):
        client.post("/", form_data(narrative=f"random {n}"))
    window = window_of(Flood.objects.get())
    page = staff.post("/staff/held/reject-window/", window)
    last, token = page.context["last_case_id"], confirmation_on(page)
    later = client.post("/", form_data(narrative="held after the confirmation page"))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        staff.post(
            "/staff/held/reject-window/", {**window, "last_case_id": last, "confirmation": token}
        )

    assert "0 of 3 rejected so far" in staff.get("/staff/held/").content.decode()
    for callback in queued:  # the task is queued
        callback()
    worker_runs(FloodRejection.objects.get())
    assert run_flood_rejection(FloodRejection.objects.get().pk) == 0  # a retry does nothing
    assert Case.objects.filter(state="rejected").count() == 3
    assert find_by_receipt(receipt_of(later)).case.flood_id is not None


@pytest.mark.parametrize(
    "window",
    [
        {"since": "2026-12-07T10:00", "until": "2026-12-07T09:00"},
        {"since": "yesterday", "until": "2026-12-07T09:00"},
        {"since": "2026-12-07T10:00"},
        {"since": "2026-12-07T10:00", "until": "2026-12-07T12:00", "last_case_id": "x"},
    ],
)
def test_a_window_that_cannot_be_read_changes_nothing(client, staff, settings, window):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for _ in range(3):
        client.post("/", form_data())

    response = staff.post("/staff/held/reject-window/", {**window, "confirm": "on"}, follow=True)

    assert response.status_code == 200
    assert "That time window could not be read; nothing was changed." in response.content.decode()
    assert Case.objects.filter(flood__isnull=False).count() == 2
    assert not FloodRejection.objects.exists()


def test_rejecting_a_whole_flood_is_for_caseworkers(client, carol):
    sign_in(client, carol)

    response = client.post(
        "/staff/held/reject-window/",
        {"since": "2026-12-07T10:00", "until": "2026-12-07T12:00", "confirm": "on"},
    )

    assert response.status_code == 403


def test_caseworkers_are_told_in_the_menu_and_their_digest_when_intake_holds(
    client, staff, alice, settings
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice.user.email = "alice@example.org"
    alice.user.save()
    assert "Held during a flood" not in staff.get("/staff/due/").content.decode()
    assert send_digests() == 0  # nothing due, nothing held: no mail

    for _ in range(3):
        client.post("/", form_data())

    assert 'Held during a flood <span class="counts">(2)</span>' in (
        staff.get("/staff/due/").content.decode()
    )
    assert send_digests() == 1
    # In the organisation's language (LANGUAGE_CODE), as the rest of the digest.
    assert "2 заявки задержаны и не попали в очередь разбора" in mail.outbox[0].body
    assert "/staff/held/" in mail.outbox[0].body


# --- the flood digest's key --------------------------------------------------------


def test_a_flood_digest_cannot_be_reproduced_from_the_encryption_key_and_the_narrative(
    client, settings
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for _ in range(3):
        client.post("/", form_data(narrative=BOT_TEXT))
    stored = set(Case.objects.exclude(flood_digest="").values_list("flood_digest", flat=True))
    flood = Flood.objects.get()
    normalised = " ".join(BOT_TEXT.casefold().split())

    assert len(stored) == 1  # identical texts are still grouped
    assert stored != {keyed_digest("flood-digest", normalised)}  # the derivation main used
    cache.clear()  # the cache is where the key lives, and only there
    assert narrative_digest(flood.pk, BOT_TEXT) not in stored


def test_after_release_and_rejection_no_digest_and_no_key_remain(
    client, staff, settings, django_capture_on_commit_callbacks
):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    client.post("/", form_data())
    for n in range(4):
        client.post("/", form_data(narrative=BOT_TEXT if n < 3 else "a real one"))
    flood = Flood.objects.get()
    assert cache.get(f"flood-digest-key:{flood.pk}") is not None
    bot = Case.objects.filter(flood__isnull=False).order_by("pk").first().request.reference
    real = Case.objects.filter(flood__isnull=False).order_by("pk").last().request.reference

    with django_capture_on_commit_callbacks(execute=True):
        confirmed_post(staff, "/staff/held/reject/", {"reference": bot, "scope": "group"})
    assert cache.get(f"flood-digest-key:{flood.pk}") is not None  # one is still held
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/staff/held/release/", {"reference": real, "scope": "case"})

    assert set(Case.objects.values_list("flood_digest", flat=True)) == {""}
    assert cache.get(f"flood-digest-key:{flood.pk}") is None
    assert held_bytes() == 0


def test_a_window_with_nothing_held_starts_nothing(client, staff, settings):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    client.post("/", form_data())
    window = {"since": "2020-01-01T00:00", "until": "2020-01-02T00:00"}

    response = staff.post(
        "/staff/held/reject-window/", {**window, "last_case_id": 10, "confirm": "on"}, follow=True
    )

    assert "Nothing is held in that time window; nothing was changed." in (
        response.content.decode()
    )
    assert not FloodRejection.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="held.").exists()


def test_a_forged_confirmation_of_a_whole_flood_changes_nothing(client, staff, settings):
    """The review's item 12: a POST that says "confirmed" is no confirmation."""
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for n in range(4):
        client.post("/", form_data(narrative=f"random {n}"))
    window = window_of(Flood.objects.get())
    last = staff.post("/staff/held/reject-window/", window).context["last_case_id"]

    forged = staff.post(
        "/staff/held/reject-window/",
        {**window, "last_case_id": last, "confirm": "on", "confirmation": "made-up"},
    )

    assert forged.status_code == 200  # the confirmation page again
    assert not FloodRejection.objects.exists()
    assert Case.objects.filter(flood__isnull=False).count() == 3
