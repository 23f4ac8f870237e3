"""
No time written because a requester acted says more than its hour: matched
against a messenger's or an ISP's logs, an exact time can point to a person.
Within the hour, order comes from ids.
"""

import json

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from intake.models import HelpRequest
from intake.services import create_bot_token
from intake.tasks import notify_pending_cases
from tests.intake_helpers import form_data, submit
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def every_stored_time() -> dict[tuple[str, object, str], object]:
    """(model, primary key, field) -> value, for every date-time column of every row."""
    found = {}
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)]
        for field in fields:
            for pk, value in model._base_manager.values_list("pk", field.attname):
                if value is not None:
                    found[model._meta.label, pk, field.name] = value
    return found


def finer_than_the_hour(value) -> bool:
    local = timezone.localtime(value)
    return (local.minute, local.second, local.microsecond) != (0, 0, 0)


def test_every_time_a_requester_causes_is_an_hour(client, alice, settings):
    settings.INTAKE_NOTIFY_EMAIL = "duty@example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    token = create_bot_token("hour-bot", "telegram", actor=alice.user)[1]
    before = every_stored_time()

    code = submit(client)
    client.post("/status/", {"code": code})
    client.post("/status/message/", {"code": code, "body": "Still waiting, please write"})
    client.post(
        "/api/v1/requests",
        json.dumps({k: v for k, v in form_data().items() if k != "alias"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    notify_pending_cases()
    written = {key: value for key, value in every_stored_time().items() if before.get(key) != value}

    fields = {(label, field) for label, _pk, field in written}
    assert {
        ("intake.HelpRequest", "received_at"),
        ("cases.Case", "created_at"), ("cases.Case", "updated_at"),
        ("cases.Case", "last_activity_at"), ("cases.Case", "notified_at"),
        ("cases.Case", "unread_message_at"), ("cases.CaseEvent", "at"),
        ("intake.RequestMessage", "sent_at"), ("intake.BotToken", "last_used_at"),
    } <= fields  # fmt: skip
    exact = {key: value.isoformat() for key, value in written.items() if finer_than_the_hour(value)}
    assert exact == {}


def test_within_the_hour_the_queue_and_the_thread_keep_the_order_things_came_in(client, alice):
    first, second = submit(client), submit(client)
    reference = HelpRequest.objects.order_by("pk").first().reference
    staff = type(client)()
    staff.cookies["django_language"] = "en"
    sign_in(staff, alice)
    client.post("/status/message/", {"code": first, "body": "First from the requester"})
    staff.post(f"/staff/cases/{reference}/reply/", {"body": "Then the caseworker"})
    client.post("/status/message/", {"code": first, "body": "Then the requester again"})

    queue = [row["request__reference"] for row in staff.get("/staff/").context["page"]]
    thread = client.post("/status/", {"code": first}).content.decode()

    assert queue == list(HelpRequest.objects.order_by("pk").values_list("reference", flat=True))
    assert second  # both were stored in the same hour
    assert (
        thread.index("First from the requester")
        < thread.index("Then the caseworker")
        < thread.index("Then the requester again")
    )
