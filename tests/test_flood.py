"""
A flood does not lock real requesters out: past the global ceiling requests are
still stored and given receipts, but held out of the triage queue, grouped by
identical text, for caseworkers to release or reject as spam.
"""

import io
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEntry
from cases.models import Case
from intake.models import HelpRequest
from intake.services import create_bot_token, find_by_receipt
from intake.tasks import notify_pending_cases
from tests.factories import CaseFactory
from tests.intake_helpers import form_data, receipt_of
from tests.staffing import confirmation_on, sign_in

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


def test_past_the_hold_limit_a_submission_gets_429_and_nothing_is_stored(client, settings):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "2/h"
    settings.INTAKE_HOLD_LIMIT = 3
    statuses = [client.post("/", form_data()).status_code for _ in range(6)]

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert HelpRequest.objects.count() == 5
    assert Case.objects.filter(flood__isnull=False).count() == 3


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

    assert [post(), post(), post()] == [201, 201, 429]
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
