"""
A requester's browser keeps nothing once it is closed: every cookie a public
page sets is a session cookie (no Max-Age, no Expires), because a year-long
cookie of ours on a searched phone is evidence of contact.
"""

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from intake.services import create_bot_token
from tests.intake_helpers import form_data, receipt_of
from tests.staffing import make_staff

pytestmark = pytest.mark.django_db


def public_paths() -> list[str]:
    """Every URL outside the staff area and the admin, as a visitor reaches it."""
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if text.startswith(("staff/", "admin/")):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                paths.append("/" + text)

    walk(get_resolver().url_patterns, "")
    return [*paths, "/no-such-page/", "/static/css/site.css"]


def lasting_cookies(response) -> list[str]:
    return [
        f"{name}: max-age={morsel['max-age']!r} expires={morsel['expires']!r}"
        for name, morsel in response.cookies.items()
        if morsel["max-age"] or morsel["expires"]
    ]


def test_no_public_page_sets_a_cookie_that_outlives_the_browser_session(settings):
    settings.INTAKE_RATE_LIMIT = "1/h"
    visitor = Client()
    bot_token = create_bot_token("cookie-bot", "telegram", actor=make_staff("x", "admin").user)[1]
    responses = [visitor.get(path) for path in public_paths()]
    receipt = receipt_of(visitor.post("/", form_data()))
    responses += [
        visitor.post("/", form_data()),  # over the limit: 429
        visitor.post("/", form_data(category="tourism")),
        visitor.post("/status/", {"code": receipt}),
        visitor.post("/status/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}),
        visitor.post("/status/message/", {"code": receipt, "body": "still here"}),
        visitor.post("/i18n/setlang/", {"language": "en", "next": "/"}),
        visitor.get("/"),  # in English now
        Client(enforce_csrf_checks=True).post("/", form_data()),  # CSRF failure page
        visitor.post(
            "/api/v1/requests",
            json.dumps({k: v for k, v in form_data().items() if k != "alias"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {bot_token}",
        ),
    ]

    assert any(response.cookies for response in responses)  # cookies are set...
    for response in responses:  # ...and none outlives the session
        assert lasting_cookies(response) == [], response.wsgi_request.path
