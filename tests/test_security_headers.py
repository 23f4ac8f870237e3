"""
Security headers on every page, and pages that load nothing from anywhere else.

Every URL pattern of the site is visited (GET, signed in as a caseworker who is
also an admin and coordinator, so that staff pages render); a pattern added
later without a sample here fails the test, so no page escapes the check.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db

# Sample values for path converters, by parameter name.
SAMPLES = {
    "pk": "{user_pk}",
    "reference": "{reference}",
    "month": "2024-01",
    "name": "categories",
    "file_format": "svg",
    # No such attachment: its 404 page. An attachment's image has a policy of
    # its own that allows only the image (tests/test_attachments.py).
    "uid": "0" * 32,
}
EXPECTED_CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


# The two pages that run the passkey script may fetch from our own origin
# (its ceremony), nowhere else; every other page may fetch from nowhere.
PASSKEY_SCRIPT_PAGES = {"/staff/verify/", "/staff/security/passkeys/"}


def site_paths() -> list[str]:
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if text.startswith("admin/"):
                    continue  # Django's admin: visited separately below
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                paths.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES[m.group(1)], text))

    walk(get_resolver().url_patterns, "")
    return [*paths, "/admin/", "/admin/audit/auditentry/", "/static/css/site.css"]


def parse_csp(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.fixture
def everyone(client):
    person = make_staff("omni", "caseworker", "coordinator", "admin")
    case = CaseFactory()
    return person, case


def test_every_page_sends_a_strict_policy_and_the_other_security_headers(client, everyone):
    person, case = everyone
    values = {"user_pk": person.user.pk, "reference": case.request.reference}
    for signed_in in (False, True):
        if signed_in:
            sign_in(client, person)
        for path in site_paths():
            url = path.format(**values)
            response = client.get(url)
            where = f"{url} (signed in: {signed_in}, status {response.status_code})"
            expected = dict(EXPECTED_CSP)
            if url in PASSKEY_SCRIPT_PAGES:
                expected["connect-src"] = "'self'"
            assert parse_csp(response.get("Content-Security-Policy", "")) == expected, where
            assert response.get("X-Content-Type-Options", "") == "nosniff", where
            if not url.startswith("/static/"):  # a stylesheet cannot be framed
                assert response.get("X-Frame-Options", "") == "DENY", where
            assert response.get("Referrer-Policy", "") == "same-origin", where
            assert response.get("Cross-Origin-Opener-Policy", "") == "same-origin", where
            assert response.get("Cross-Origin-Resource-Policy", "") == "same-origin", where
            assert "camera=()" in response.get("Permissions-Policy", ""), where


def test_our_pages_hold_nothing_inline_and_nothing_from_elsewhere(client, everyone):
    person, case = everyone
    values = {"user_pk": person.user.pk, "reference": case.request.reference}
    sign_in(client, person)
    checked = 0
    for path in site_paths():
        if path.startswith("/admin/"):
            continue  # Django's own templates
        response = client.get(path.format(**values))
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.content.decode()
        checked += 1
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\sstyle=", page), path
        assert not re.search(r"\son[a-z]+=", page), path  # inline event handlers
        for url in re.findall(r"""(?:src|href|action)=["']([^"']+)""", page):
            assert not re.match(r"(?:[a-z]+:)?//", url, re.I), f"{path} links to {url}"
    assert checked >= 15


def test_hsts_and_secure_cookies_under_production_settings(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/", secure=True)

    assert response.get("Strict-Transport-Security", "").startswith("max-age=31536000")
