"""A reply waits: the requester is told so at the top of /status/, in their language."""

import pytest

from cases.services import reply_to_requester
from intake.models import HelpRequest
from tests.intake_helpers import submit

pytestmark = pytest.mark.django_db


def open_status(client, code: str) -> str:
    return client.post("/status/", {"code": code}).content.decode()


def test_an_answer_is_announced_at_the_top_instead_of_received(client, alice):
    code = submit(client)
    reply_to_requester(HelpRequest.objects.get().case, "Мы на связи.", author=alice.user)

    page = open_status(client, code)

    assert "You have an answer: it is below." in page
    assert "Received. A caseworker will read it soon." not in page
    assert page.index("You have an answer") < page.index("Мы на связи.")
    assert 'id="latest-answer"' in page


def test_in_russian_it_says_you_were_answered(client, alice):
    code = submit(client)
    reply_to_requester(HelpRequest.objects.get().case, "Мы на связи.", author=alice.user)
    client.cookies["django_language"] = "ru"

    assert "Вам ответили — ответ ниже." in open_status(client, code)


def test_once_the_requester_wrote_back_no_answer_is_announced(client, alice):
    code = submit(client)
    reply_to_requester(HelpRequest.objects.get().case, "Мы на связи.", author=alice.user)
    client.post("/status/message/", {"code": code, "body": "Спасибо."})

    page = open_status(client, code)

    assert "You have an answer" not in page
    assert "Received. A caseworker will read it soon." in page


def test_without_an_answer_the_state_is_said_as_before(client):
    code = submit(client)

    page = open_status(client, code)

    assert "You have an answer" not in page
    assert "Received. A caseworker will read it soon." in page
