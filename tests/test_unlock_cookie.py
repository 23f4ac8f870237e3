"""
The unlock cookie `tropa_unlock` (encryption/session.py, docs/encryption.md
"Session cookie"): the key to the session's sealed copy of the organisation
keys lives only in the caseworker's browser, for the browser session only.
Neither half opens anything alone; sign-out and idle expiry end both.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client as DjangoClient
from django.utils import timezone

from cases.models import Case
from encryption.session import COOKIE_NAME, SESSION_ENTRY
from intake.services import submit_request
from tests.staffing import enter_password, make_staff, sign_in, totp_code
from tests.test_accessibility import request_record

pytestmark = pytest.mark.django_db

NARRATIVE = "What only a signed-in caseworker reads 8801"


@pytest.fixture
def case_url():
    submission = submit_request(request_record(narrative=NARRATIVE))
    assert Case.objects.filter(request=submission.help_request).exists()
    return f"/staff/cases/{submission.help_request.reference}/"


def Client() -> DjangoClient:
    client = DjangoClient()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def reads_content(client: DjangoClient, case_url: str) -> bool:
    response = client.get(case_url)
    return response.status_code == 200 and NARRATIVE in response.content.decode()


def sessions_holding_keys() -> list[Session]:
    return [s for s in Session.objects.all() if SESSION_ENTRY in s.get_decoded()]


def test_the_cookie_is_http_only_secure_strict_and_ends_with_the_browser(settings, alice):
    settings.SESSION_COOKIE_SECURE = True  # as in production (DEBUG off)
    client = Client()

    response = enter_password(client, alice.username)

    cookie = response.cookies[COOKIE_NAME]
    header = cookie.OutputString()
    assert cookie.value and cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["max-age"] and not cookie["expires"]
    assert "Max-Age" not in header and "expires" not in header.lower()
    # The cookie is set at the password step; the second factor does not replace it.
    verified = client.post("/staff/verify/", {"code": totp_code(alice.device)})
    assert COOKIE_NAME not in verified.cookies
    assert client.cookies[COOKIE_NAME].value == cookie.value


def test_the_cookie_follows_the_sites_secure_setting(settings, alice):
    settings.SESSION_COOKIE_SECURE = False  # only with DEBUG on, for the development server
    cookie = enter_password(Client(), alice.username).cookies[COOKIE_NAME]
    assert not cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"


def test_only_a_caseworker_with_access_is_given_the_cookie(carol, bob):
    waiting = make_staff("nina", "caseworker", with_access=False)
    for staff in (carol, waiting):
        assert COOKIE_NAME not in enter_password(Client(), staff.username).cookies
    assert COOKIE_NAME in enter_password(Client(), bob.username).cookies


def test_signing_out_deletes_the_cookie_and_the_sessions_sealed_keys(alice, case_url):
    client = Client()
    sign_in(client, alice)
    assert reads_content(client, case_url)
    assert len(sessions_holding_keys()) == 1
    old_session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    old_unlock = client.cookies[COOKIE_NAME].value

    response = client.post("/staff/logout/")

    deleted = response.cookies[COOKIE_NAME]
    assert deleted.value == "" and deleted["max-age"] == 0
    assert sessions_holding_keys() == []
    assert not Session.objects.filter(session_key=old_session).exists()
    # Whoever kept both cookies from before the sign-out gets nothing with them.
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = old_session
    replay.cookies[COOKIE_NAME] = old_unlock
    assert not reads_content(replay, case_url)


def test_after_the_idle_time_content_no_longer_opens(monkeypatch, settings, alice, case_url):
    client = Client()
    sign_in(client, alice)
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert idle == timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)
    signed_in_at = timezone.now()

    # Just within the idle time, the caseworker still reads (and the clock starts again).
    monkeypatch.setattr(timezone, "now", lambda: signed_in_at + idle - timedelta(minutes=1))
    assert reads_content(client, case_url)
    # The idle time passes with no request: the session is over, and the content with it.
    later = signed_in_at + 2 * idle
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client.get(case_url)
    assert response.status_code == 302 and "/staff/login/" in response["Location"]
    assert NARRATIVE not in response.content.decode()
    assert COOKIE_NAME in client.cookies  # the browser still holds it, and it opens nothing
    assert not reads_content(client, case_url)


def test_the_session_store_without_the_cookie_opens_nothing(alice, case_url):
    client = Client()
    sign_in(client, alice)
    assert reads_content(client, case_url)
    session_cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    unlock = client.cookies[COOKIE_NAME].value
    # The stored session never holds the cookie's key, in any form.
    row = Session.objects.get(session_key=session_cookie)
    assert unlock not in row.session_data and unlock not in str(row.get_decoded())

    # A copy of the session (its row, and so its cookie) without the unlock cookie:
    copied = Client()
    copied.cookies[django_settings.SESSION_COOKIE_NAME] = session_cookie
    # Signed in as Alice, and sent to the page that says her session has no key.
    assert copied.get("/staff/").url == "/staff/access/"
    assert not reads_content(copied, case_url)  # ... and reads nothing
    # ... nor with a made-up key in its place.
    copied.cookies[COOKIE_NAME] = "A" * len(unlock)
    assert not reads_content(copied, case_url)


def test_each_sign_in_has_its_own_key_and_the_halves_do_not_mix(alice, case_url):
    first, second = Client(), Client()
    sign_in(first, alice)
    sign_in(second, alice)
    assert reads_content(first, case_url) and reads_content(second, case_url)
    assert first.cookies[COOKIE_NAME].value != second.cookies[COOKIE_NAME].value

    # The first browser's session with the second browser's cookie: nothing opens.
    first.cookies[COOKIE_NAME] = second.cookies[COOKIE_NAME].value
    assert not reads_content(first, case_url)
    assert reads_content(second, case_url)
