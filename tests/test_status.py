"""Following up with a receipt code: status in plain words and a message thread."""

import pytest
from django.db import connection

from audit.models import AuditEntry
from cases.models import Case
from intake.models import HelpRequest, RequestMessage
from intake.services import requester_thread
from tests.content_keys import opened
from tests.intake_helpers import submit
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def open_status(client, code: str):
    return client.post("/status/", {"code": code})


def test_the_code_opens_the_status_in_plain_words(client):
    code = submit(client)
    page = open_status(client, code).content.decode()

    assert "Received. A caseworker will read it soon." in page
    assert "No messages yet" in page


@pytest.mark.parametrize(
    "typing",
    [
        str.lower,
        lambda c: c.replace("-", ""),
        lambda c: " ".join(c.split("-")),
        lambda c: c.replace("0", "O").replace("1", "I"),
    ],
)
def test_the_code_is_forgiving_about_how_it_is_typed(client, typing):
    code = submit(client)

    assert "Received." in open_status(client, typing(code)).content.decode()


@pytest.mark.parametrize("wrong", ["", "nonsense", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", "sel"])
def test_a_wrong_code_gets_the_same_generic_answer(client, wrong):
    code = submit(client)
    if wrong == "sel":
        wrong = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]  # right selector
    response = open_status(client, wrong)

    assert response.status_code == 200
    body = response.content.decode()
    assert "No request matches this code" in body or "required" in body
    assert "Received." not in body


def test_guessing_is_throttled(client, settings):
    settings.STATUS_RATE_LIMIT = "5/h"
    for _ in range(5):
        open_status(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ")

    assert open_status(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ").status_code == 429


def test_the_code_never_appears_in_a_url(client):
    code = submit(client)
    page = open_status(client, code).content.decode()

    assert f"?code={code}" not in page
    assert 'method="post" action="/status/message/"' in page


def test_a_message_from_the_requester_is_encrypted_and_flagged_for_caseworkers(client):
    code = submit(client)
    page = client.post("/status/message/", {"code": code, "body": "I am safe for now"})

    assert "Your message was sent." in page.content.decode()
    message = RequestMessage.objects.get()
    assert message.sender == "requester"
    # Sealed to the organisation and to the requester: a caseworker and the code open it.
    assert opened(message, "body")["body"] == "I am safe for now"
    thread = requester_thread(message.request, code)
    assert [m.text for m in thread] == ["I am safe for now"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM intake_requestmessage")
        assert b"safe for now" not in bytes(cursor.fetchone()[0])
    assert Case.objects.get().unread_message_at is not None


def test_a_message_with_a_wrong_code_is_not_stored(client):
    submit(client)
    client.post("/status/message/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", "body": "hello"})

    assert not RequestMessage.objects.exists()


def test_an_empty_message_is_refused_with_the_reason(client):
    code = submit(client)
    page = client.post("/status/message/", {"code": code, "body": "  "}).content.decode()

    assert "The message is empty." in page or "required" in page
    assert not RequestMessage.objects.exists()


def test_a_caseworker_reply_reaches_the_requester(client, alice):
    code = submit(client)
    client.post("/status/message/", {"code": code, "body": "Are you there?"})
    reference = HelpRequest.objects.get().reference
    staff = type(client)()
    staff.cookies["django_language"] = "en"
    sign_in(staff, alice)

    queue = staff.get("/staff/").content.decode()
    assert "New messages from requesters" in queue and reference in queue
    case_page = staff.get(f"/staff/cases/{reference}/").content.decode()
    assert "Are you there?" in case_page
    staff.post(f"/staff/cases/{reference}/reply/", {"body": "Yes. Call us on Signal."})

    status = open_status(client, code).content.decode()
    assert "Yes. Call us on Signal." in status
    assert Case.objects.get().unread_message_at is None
    assert AuditEntry.objects.filter(action="case.reply", target=reference).exists()
    assert "Call us" not in str(list(AuditEntry.objects.values_list("detail", flat=True)))


# --- long threads and rejected cases (fourth review, item 2) ----------------------------


def test_sending_a_message_answers_with_a_short_page_not_the_thread(client, settings):
    settings.REQUESTER_MESSAGES_PER_DAY = 100
    code = submit(client)
    for n in range(40):
        client.post("/status/message/", {"code": code, "body": f"earlier message {n:03d}"})

    sent = client.post("/status/message/", {"code": code, "body": "the newest one"})

    page = sent.content.decode()
    assert "Your message was sent." in page
    assert "earlier message" not in page and "the newest one" not in page
    assert 'name="code" value="' in page  # back to the request, by POST


def test_the_status_page_shows_the_newest_messages_and_earlier_ones_on_request(client, settings):
    settings.REQUESTER_MESSAGES_PER_DAY, settings.REQUESTER_THREAD_PAGE = 100, 10
    code = submit(client)
    for n in range(25):
        client.post("/status/message/", {"code": code, "body": f"message number {n:03d}"})

    first = open_status(client, code).content.decode()
    more = client.post("/status/", {"code": code, "shown": "20"}).content.decode()

    assert "message number 024" in first and "message number 015" in first
    assert "message number 014" not in first
    assert "15 earlier messages are not shown." in first
    assert 'name="shown" value="20"' in first
    assert "message number 005" in more and "message number 004" not in more


def test_a_message_to_a_rejected_case_is_flagged_at_the_top_of_the_new_view(client, alice):
    code = submit(client)
    case = Case.objects.get()
    case.state = "rejected"
    case.save()
    before = Case.objects.values_list("last_activity_at", flat=True).get()

    client.post("/status/message/", {"code": code, "body": "please, it was real"})

    staff = type(client)()
    staff.cookies["django_language"] = "en"
    sign_in(staff, alice)
    queue = staff.get("/staff/").content.decode()
    new = staff.get("/staff/new/").content.decode()
    reference = case.request.reference
    assert "New messages from requesters" not in queue
    assert "A rejected request was written to again" in new
    assert new.index("after-rejection") < new.index("New requests, newest first")
    assert f"/staff/cases/{reference}/#messages" in new
    assert f'action="/staff/cases/{reference}/reopen/"' in new
    assert Case.objects.values_list("last_activity_at", flat=True).get() == before
