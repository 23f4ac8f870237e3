"""Staff sign-in: a password, then a second factor, with a lock after failures."""

import pytest
from django.conf import settings

from accounts.models import AuthenticatorDevice, SignInGuard, UnknownSignInTally
from audit.models import AuditEntry
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, enter_password, make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db


def test_it_asks_for_a_code_after_the_password(client, alice):
    response = enter_password(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/staff/verify/"


def test_a_correct_code_opens_the_queue(client, alice):
    enter_password(client, "alice")
    response = client.post("/staff/verify/", {"code": totp_code(alice.device)})

    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.login", target="alice").exists()


def test_a_password_only_session_sees_nothing_but_the_second_step(client, alice):
    case = CaseFactory(request__narrative="a narrative nobody should see yet")
    enter_password(client, "alice")

    for url in ["/staff/", f"/staff/cases/{case.request.reference}/", "/staff/accounts/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == "/staff/verify/"
    admin = client.get("/admin/", follow=True)
    assert b"a narrative nobody should see yet" not in admin.content
    assert admin.redirect_chain[-1][0].startswith("/staff/verify/")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/staff/")

    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=%2Fstaff%2F"


def test_a_wrong_code_is_refused(client, alice):
    enter_password(client, "alice")
    response = client.post("/staff/verify/", {"code": "000000"})

    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/staff/")["Location"] == "/staff/verify/"


def test_a_totp_code_works_only_once(client, alice):
    code = totp_code(alice.device)
    enter_password(client, "alice")
    assert client.post("/staff/verify/", {"code": code}).status_code == 302
    client.post("/staff/logout/")

    enter_password(client, "alice")
    response = client.post("/staff/verify/", {"code": code})

    assert response.status_code == 200
    assert client.get("/staff/")["Location"] == "/staff/verify/"


def test_a_backup_code_works_exactly_once(client, alice):
    code = alice.backup_codes[3]
    enter_password(client, "alice")
    first = client.post("/staff/verify/", {"code": code.upper()}, follow=True)
    assert first.status_code == 200
    assert "9 are left" in first.content.decode()
    client.post("/staff/logout/")

    enter_password(client, "alice")
    second = client.post("/staff/verify/", {"code": code})

    assert second.status_code == 200
    assert client.get("/staff/")["Location"] == "/staff/verify/"


def test_wrong_passwords_lock_the_account_even_against_the_right_credentials(client, alice):
    for _ in range(25):
        enter_password(client, "alice", "wrong password")

    response = enter_password(client, "alice")
    assert response.status_code == 200
    assert "too many failed attempts" in response.content.decode()
    assert client.post("/staff/verify/", {"code": totp_code(alice.device)}).status_code == 302
    assert client.get("/staff/").status_code == 302  # never reached the queue
    # Locked for this source; later tries were refused without being counted.
    lock = AuditEntry.objects.get(action="auth.locked", target="alice")
    assert (lock.detail["scope"], lock.detail["failures"]) == (
        "source",
        settings.SIGN_IN_FAILURE_LIMIT,
    )
    assert SignInGuard.objects.get(user=alice.user).failures == settings.SIGN_IN_FAILURE_LIMIT


def test_wrong_codes_lock_the_account_too(client, alice):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        enter_password(client, "alice")
        client.post("/staff/verify/", {"code": "123456"})

    assert AuditEntry.objects.filter(action="auth.locked", target="alice").exists()
    # The password step already refuses a locked account, right password or not.
    refused = enter_password(client, "alice")
    assert "too many failed attempts" in refused.content.decode()
    assert client.get("/staff/")["Location"].startswith("/staff/login/")


def test_a_successful_sign_in_forgets_earlier_failures(client, alice):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT - 1):
        enter_password(client, "alice", "wrong password")
    sign_in(client, alice)

    assert SignInGuard.objects.get(user=alice.user).failures == 0


def test_an_unknown_username_is_answered_like_a_wrong_password(client, alice):
    unknown = enter_password(client, "nobody-here", PASSWORD).content.decode()
    wrong = enter_password(client, "alice", "nope").content.decode()

    assert "Wrong username or password" in unknown
    assert "Wrong username or password" in wrong
    # Counted, never audited: a password typed into the username field is never stored.
    assert not AuditEntry.objects.filter(action="auth.failed", target="").exists()
    assert UnknownSignInTally.objects.get().failures == 1


def test_sign_out_is_a_post(client, alice):
    sign_in(client, alice)

    assert client.get("/staff/logout/").status_code == 405
    assert client.post("/staff/logout/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_sessions_end_on_browser_close_and_after_idle_time(client, alice):
    sign_in(client, alice)
    response = client.get("/staff/")

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_IDLE_MINUTES * 60


def test_a_new_account_sets_up_its_authenticator_at_first_sign_in(client):
    make_staff("erin", "caseworker", enrolled=False)
    response = enter_password(client, "erin")
    assert response["Location"] == "/staff/enrol/"

    page = client.get("/staff/enrol/")
    assert b"<svg" in page.content  # the QR code is drawn on our server
    assert client.get("/staff/")["Location"] == "/staff/verify/"
    device = AuthenticatorDevice.objects.get(user__username="erin", confirmed=False)
    confirmed = client.post("/staff/enrol/", {"code": totp_code(device)})

    assert confirmed.status_code == 200
    assert confirmed.content.decode().count("<code>") == 10  # the backup codes, once
    assert client.get("/staff/").status_code == 200
