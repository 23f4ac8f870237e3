"""
The receipt page shows the code once. Its language switch shows the same
receipt again in the other language, the code carried in the POST body it
came in: never in a URL, a log or a cookie, and nothing looked up.
"""

import logging
import re

import pytest
from django.test import Client

from tests.intake_helpers import form_data, receipt_of

pytestmark = pytest.mark.django_db

SWITCH = "/receipt/language/"


@pytest.fixture
def visitor():
    """A requester's browser: Russian, as nobody chose otherwise."""
    return Client()


def test_the_receipt_page_switch_carries_the_code_in_its_form_not_its_address(visitor):
    page = visitor.post("/", form_data()).content.decode()
    code = receipt_of_text(page)

    switch = re.search(
        r'<form class="language-switch" action="([^"]+)" method="post">(.*?)</form>', page, re.S
    )
    assert switch.group(1) == SWITCH
    assert f'<input type="hidden" name="code" value="{code}">' in switch.group(2)
    assert 'name="next"' not in switch.group(2)
    assert 'value="en" lang="en">English</button>' in switch.group(2)


def receipt_of_text(page: str) -> str:
    return re.search(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>", page).group(1)


def test_switching_shows_the_same_receipt_in_english_and_back(visitor):
    code = receipt_of(visitor.post("/", form_data()))

    english = visitor.post(SWITCH, {"code": code, "language": "en"})

    assert english.status_code == 200
    assert english["Content-Language"] == "en"
    assert "We received your request" in english.content.decode()
    assert receipt_of(english) == code
    russian = visitor.post(SWITCH, {"code": code, "language": "ru"})
    assert "Мы получили вашу заявку" in russian.content.decode()
    assert receipt_of(russian) == code


def test_the_language_chosen_stays_for_the_next_pages_as_a_session_cookie(visitor):
    code = receipt_of(visitor.post("/", form_data()))

    response = visitor.post(SWITCH, {"code": code, "language": "en"})

    cookie = response.cookies["django_language"]
    assert cookie.value == "en"
    assert not cookie["max-age"] and not cookie["expires"]
    assert "Ask for help" in visitor.get("/").content.decode()
    for morsel in response.cookies.values():
        assert code not in morsel.value and code.replace("-", "") not in morsel.value


def test_the_code_still_opens_the_request_after_switching(visitor):
    code = receipt_of(visitor.post("/", form_data()))
    visitor.post(SWITCH, {"code": code, "language": "en"})

    status = visitor.post("/status/", {"code": code})

    assert "Your request" in status.content.decode()


def test_nothing_is_looked_up_so_a_made_up_code_answers_alike(visitor):
    made_up = "K3M9-Q9TX-AAAA-BBBB-CCCC"

    response = visitor.post(SWITCH, {"code": made_up, "language": "en"})

    assert response.status_code == 200
    assert receipt_of(response) == made_up


@pytest.mark.parametrize(
    "data",
    [
        {"code": "<script>", "language": "en"},
        {"code": "", "language": "en"},
        {"code": "K3M9-Q9TX-AAAA-BBBB-CCCC", "language": "de"},
    ],
    ids=["not a code", "no code", "no such language"],
)
def test_what_is_not_a_code_or_a_language_is_refused_without_echo(visitor, data):
    response = visitor.post(SWITCH, data)

    assert response.status_code == 400
    assert "<script>" not in response.content.decode()
    assert "K3M9" not in response.content.decode()
    assert "django_language" not in response.cookies


def test_it_answers_post_only(visitor):
    assert visitor.get(SWITCH).status_code == 405


def test_the_code_is_never_logged(visitor, caplog):
    caplog.set_level(logging.DEBUG)
    code = receipt_of(visitor.post("/", form_data()))

    visitor.post(SWITCH, {"code": code, "language": "en"})
    visitor.post(SWITCH, {"code": code, "language": "xx"})  # refused: logged as a 400

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert code not in logged and code.replace("-", "") not in logged
