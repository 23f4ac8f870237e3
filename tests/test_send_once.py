"""
Reload does not send twice (fourth review, item 7): the public form and the
status page's message form carry a single-use token; a replayed POST is told
that what it carries was already sent, and nothing is stored again.
"""

import re

import pytest

from intake.models import HelpRequest, RequestMessage
from tests.intake_helpers import form_data, receipt_of, submit

pytestmark = pytest.mark.django_db


def token_on(page) -> str:
    match = re.search(r'name="once" value="([^"]+)"', page.content.decode())
    assert match, page.content.decode()[:2000]
    return match.group(1)


def test_reloading_the_receipt_page_does_not_send_the_request_again(client):
    data = {**form_data(), "once": token_on(client.get("/"))}
    first = client.post("/", data)

    replay = client.post("/", data)

    assert receipt_of(first)
    assert replay.status_code == 200
    assert "Your request was already sent" in replay.content.decode()
    assert "<code>" not in replay.content.decode()
    assert HelpRequest.objects.count() == 1


def test_each_form_page_gets_its_own_token(client):
    first, second = token_on(client.get("/")), token_on(client.get("/"))
    client.post("/", {**form_data(), "once": first})
    client.post("/", {**form_data(), "once": second})

    assert first != second
    assert HelpRequest.objects.count() == 2


def test_a_form_with_errors_keeps_its_token_and_sends_once_corrected(client):
    token = token_on(client.get("/"))
    refused = client.post("/", {**form_data(narrative=""), "once": token})

    assert token_on(refused) == token
    assert receipt_of(client.post("/", {**form_data(), "once": token}))
    assert HelpRequest.objects.count() == 1


def test_a_page_without_a_token_still_sends(client):
    submit(client)
    submit(client)

    assert HelpRequest.objects.count() == 2


def test_reloading_after_sending_a_message_does_not_send_it_again(client):
    code = submit(client)
    page = client.post("/status/", {"code": code})
    data = {"code": code, "body": "I am safe for now", "once": token_on(page)}
    sent = client.post("/status/message/", data)

    replay = client.post("/status/message/", data)

    assert "Your message was sent." in sent.content.decode()
    assert "This message was already sent" in replay.content.decode()
    assert RequestMessage.objects.count() == 1
    assert replay.content.decode().count("I am safe for now") == 1
