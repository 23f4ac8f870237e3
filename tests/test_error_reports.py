"""
No error report and no log line carries what unlocks content or names a case
(issue 21, item 12): a forced 500 during a caseworker's request, reported on
the DEBUG page or mailed to ADMINS, shows neither the `tropa_unlock` cookie nor
the session cookie; the log line of a refused case action names no reference
and has no millisecond time.
"""

import io
import logging
import re

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils.log import AdminEmailHandler

from core.logging import DropClientData
from encryption import content
from encryption.session import COOKIE_NAME
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def crashing_caseworker(alice, monkeypatch):
    """alice signed in; her next request crashes while her cookie is being read."""
    client = Client(raise_request_exception=False)
    sign_in(client, alice)
    real = content.decode_cookie_key

    def decode_then_crash(text: str):
        key = real(text)
        raise RuntimeError(f"forced crash after decoding {len(key or b'')} bytes")

    monkeypatch.setattr(content, "decode_cookie_key", decode_then_crash)
    return client


def secrets_of(client) -> list[str]:
    return [
        client.cookies[COOKIE_NAME].value,
        client.cookies[django_settings.SESSION_COOKIE_NAME].value,
    ]


def test_the_debug_error_page_shows_no_cookie(crashing_caseworker, settings):
    settings.DEBUG = True

    response = crashing_caseworker.get("/staff/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "forced crash" in page and COOKIE_NAME in page  # the report, with the names
    for secret in secrets_of(crashing_caseworker):
        assert secret not in page


def test_an_error_mailed_to_admins_carries_no_cookie(crashing_caseworker, settings):
    settings.ADMINS = [("Operator", "operator@example.org")]
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = crashing_caseworker.get("/staff/")
    finally:
        logger.removeHandler(handler)

    assert response.status_code == 500
    assert len(mail.outbox) == 1
    report = mail.outbox[0].body + "".join(str(body) for body, _type in mail.outbox[0].alternatives)
    assert "forced crash" in report
    for secret in secrets_of(crashing_caseworker):
        assert secret not in report


@pytest.mark.parametrize("who", ["waiting", "with access"])
def test_a_case_url_is_logged_without_its_reference_or_milliseconds(alice, who):
    """Django logs each 4xx with its path: a refused reply (403) of a caseworker
    waiting for access, a case that is gone (404) for one with access."""
    case = CaseFactory()
    client = Client()
    waiting = make_staff("nina", "caseworker", with_access=False)
    sign_in(client, waiting if who == "waiting" else alice)
    if who != "waiting":
        case.request.reference = "GL-GONE-CASE"  # never stored: a 404
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(DropClientData())
    handler.setFormatter(logging.Formatter(**_formatter("plain")))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.post(f"/staff/cases/{case.request.reference}/reply/", {"body": "x"})
    finally:
        logger.removeHandler(handler)

    assert response.status_code == (403 if who == "waiting" else 404)
    line = stream.getvalue()
    assert "/staff/cases/[reference]/reply/" in line
    assert case.request.reference not in line
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING", line)


def _formatter(name: str) -> dict:
    given = django_settings.LOGGING["formatters"][name]
    return {"fmt": given["format"], "datefmt": given.get("datefmt")}
