"""
On the case page: "send and set waiting" in one confirmed action, a note that
records a contact outside the system without its content, and reply templates
whose {alias} and {language} are filled when inserted.
"""

import pytest

from audit.models import AuditEntry
from cases.models import Case, CaseNote
from cases.reply_templates import create_template
from intake.models import RequestMessage
from tests.content_keys import opened, organisation_keys
from tests.factories import CaseFactory
from tests.staffing import confirmation_on, make_staff, sign_in

pytestmark = pytest.mark.django_db


def page(case, action: str = "") -> str:
    return f"/staff/cases/{case.request.reference}/{action}"


# --- send and set waiting -----------------------------------------------------------


def test_send_and_set_waiting_asks_first_then_does_both(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)
    data = {"body": "Напишите, когда будете в безопасности.", "then": "waiting"}

    asked = client.post(page(case, "reply/"), data)

    assert asked.status_code == 200
    assert "Yes, send and set waiting" in asked.content.decode()
    assert not RequestMessage.objects.exists()
    assert Case.objects.get().state == "in_progress"

    client.post(page(case, "reply/"), {**data, "confirmation": confirmation_on(asked)})

    case.refresh_from_db()
    assert case.state == "waiting" and case.waiting_since is not None
    assert opened(RequestMessage.objects.get(), "body") == {"body": data["body"]}
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"case.move", "case.reply"} <= actions


def test_a_forged_confirmation_sends_nothing(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)

    client.post(page(case, "reply/"), {"body": "x", "then": "waiting", "confirmation": "forged"})

    assert not RequestMessage.objects.exists()
    assert Case.objects.get().state == "in_progress"


def test_a_case_that_cannot_wait_sends_nothing(client, alice):
    case = CaseFactory(state="new")
    sign_in(client, alice)

    response = client.post(page(case, "reply/"), {"body": "x", "then": "waiting"}, follow=True)

    assert "cannot be set waiting; nothing was sent" in response.content.decode()
    assert not RequestMessage.objects.exists()


def test_the_button_is_offered_only_where_the_workflow_allows_waiting(client, alice):
    movable, new = CaseFactory(state="in_progress"), CaseFactory(state="new")
    sign_in(client, alice)

    assert "Send and set waiting" in client.get(page(movable)).content.decode()
    assert "Send and set waiting" not in client.get(page(new)).content.decode()


def test_a_session_without_the_key_cannot_send_and_wait(client):
    case = CaseFactory(state="in_progress")
    sign_in(client, make_staff("nina", "caseworker", with_access=False))

    response = client.post(page(case, "reply/"), {"body": "x", "then": "waiting"})

    assert response.status_code == 403
    assert Case.objects.get().state == "in_progress"


# --- contact outside the system ----------------------------------------------------------


def test_a_contact_outside_the_system_is_recorded_without_its_content(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)

    client.post(page(case, "contact/"), {"contacted_via": "signal"})

    note = CaseNote.objects.get()
    assert note.contacted_via == "signal" and note.body in ("", None)
    entry = AuditEntry.objects.get(action="case.contact")
    assert entry.detail == {"channel": "signal"}
    timeline = client.get(page(case)).content.decode()
    assert "Contacted outside the system via" in timeline and "<strong>Signal</strong>" in timeline


def test_an_optional_text_is_sealed_like_a_note(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)

    client.post(page(case, "contact/"), {"contacted_via": "phone", "body": "Перезвонить в пятницу"})

    note = CaseNote.objects.get()
    assert opened(note, "body") == {"body": "Перезвонить в пятницу"}
    assert "Перезвонить в пятницу" in client.get(page(case)).content.decode()


def test_an_unknown_channel_records_nothing(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)

    response = client.post(page(case, "contact/"), {"contacted_via": "pigeon"}, follow=True)

    assert "Choose how the requester was contacted" in response.content.decode()
    assert not CaseNote.objects.exists()


def test_a_session_without_the_key_records_no_contact(client):
    case = CaseFactory(state="in_progress")
    sign_in(client, make_staff("nina", "caseworker", with_access=False))

    assert client.post(page(case, "contact/"), {"contacted_via": "phone"}).status_code == 403
    assert not CaseNote.objects.exists()


# --- template placeholders ----------------------------------------------------------------


def stored(body: str, language: str = "ru"):
    return create_template(
        title="Привет", language=language, body=body, actor=None, keys=organisation_keys()
    )


def test_alias_and_language_are_filled_when_a_template_is_inserted(client, alice):
    template = stored("Здравствуйте, {alias}! Пишите нам на языке: {language}.")
    case = CaseFactory(request__language="en", request__alias="Саша")
    sign_in(client, alice)

    box = client.get(page(case, f"?template={template.pk}")).content.decode()

    assert "Здравствуйте, Саша! Пишите нам на языке: English." in box
    assert "{alias}" not in box


def test_without_an_alias_the_placeholder_stays_for_the_caseworker(client, alice):
    template = stored("Здравствуйте, {alias}!")
    case = CaseFactory(request__language="ru", request__alias="")
    sign_in(client, alice)

    box = client.get(page(case, f"?template={template.pk}")).content.decode()

    assert "Здравствуйте, {alias}!" in box
