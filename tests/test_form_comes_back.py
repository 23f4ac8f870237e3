"""
A public form sent with an expired or missing security token comes back with
everything typed and a fresh token; nothing is stored until it is sent again.
Staff forms get the plain page, which shows nothing that was posted.
"""

import re

import pytest
from django.test import Client

from intake.models import HelpRequest, RequestMessage
from tests.factories import CaseFactory
from tests.intake_helpers import VALID, form_data, receipt_of, submit

pytestmark = pytest.mark.django_db

NARRATIVE = "Twenty minutes of typing about the unit and the way out, all of it"


def strict_browser() -> Client:
    """A browser whose page outlived its token: the check is enforced."""
    return Client(enforce_csrf_checks=True)


def token_on(response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(1)


def hidden(response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(1)


def test_the_request_form_comes_back_filled_in_with_a_fresh_token():
    browser = strict_browser()

    refused = browser.post("/", form_data(narrative=NARRATIVE))

    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Страница была открыта слишком долго" in page
    assert f">\n{NARRATIVE}</textarea>" in page
    assert f'value="{VALID["contact"]}"' in page
    assert HelpRequest.objects.count() == 0
    sent = browser.post(
        "/",
        form_data(
            narrative=NARRATIVE, csrfmiddlewaretoken=token_on(refused), once=hidden(refused, "once")
        ),
    )
    assert sent.status_code == 200
    assert receipt_of(sent)
    assert HelpRequest.objects.count() == 1


def test_the_status_message_form_comes_back_with_its_text():
    code = submit(Client())
    browser = strict_browser()

    refused = browser.post("/status/message/", {"code": code, "body": NARRATIVE})

    assert refused.status_code == 403
    assert f">\n{NARRATIVE}</textarea>" in refused.content.decode()
    assert not RequestMessage.objects.exists()
    sent = browser.post(
        "/status/message/",
        {
            "code": hidden(refused, "code"),
            "once": hidden(refused, "once"),
            "body": NARRATIVE,
            "csrfmiddlewaretoken": token_on(refused),
        },
    )
    assert sent.status_code == 200
    assert RequestMessage.objects.count() == 1


def test_a_staff_form_gets_the_plain_page_without_what_was_posted():
    case = CaseFactory(state="triaged")
    browser = strict_browser()
    refused = browser.post(f"/staff/cases/{case.request.reference}/reply/", {"body": NARRATIVE})

    assert refused.status_code == 403
    assert NARRATIVE not in refused.content.decode()
