"""
A passkey in real Chromium (issue 26): the DevTools protocol's virtual
authenticator stands in for the laptop's, and the library's own script, served
from our origin under our CSP, talks to it. A caseworker registers a passkey
at /staff/security/, signs out, signs in with password and passkey, and reads a case.
"""

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from tests.factories import CaseFactory
from tests.staffing import PASSWORD, make_staff, totp_code

expect = pytest.importorskip("playwright.sync_api").expect
pytest_plugins = ["tests.browser"]


def virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/staff/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/staff/login/'] button")


@pytest.mark.django_db(transaction=True)
def test_a_caseworker_registers_a_passkey_and_signs_in_with_it(open_page, live_server, settings):
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    base = live_server.url
    assert base.startswith("http://localhost:")  # WebAuthn takes a host name, not an address
    alice = make_staff("browser-alice", "caseworker")
    case = CaseFactory()
    page = open_page("passkey")
    virtual_authenticator(page)

    password_step(page, base, alice.username)
    page.fill("#id_code", totp_code(alice.device))
    page.click("form[action='/staff/verify/'] button")
    page.goto(f"{base}/staff/security/")
    page.locator("a[href='/staff/security/passkeys/']").click()
    page.fill("#passkey_password", PASSWORD)
    page.locator("form[action='/staff/security/passkeys/'] button").click()
    page.locator("#passkey-register-button").click()
    page.wait_for_url(f"{base}/staff/security/")
    expect(page.locator(".passkey h3")).to_have_count(1)

    page.locator("form.sign-out button").click()
    page.wait_for_url(f"{base}/staff/login/")
    password_step(page, base, alice.username)
    page.wait_for_url(f"{base}/staff/verify/")
    page.locator("#passkey-verification-button").click()
    page.wait_for_url(f"{base}/staff/")

    page.goto(f"{base}/staff/cases/{case.request.reference}/")
    expect(page.locator(".narrative")).to_contain_text("I need to leave my unit, story number")
    assert page.problems == []


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_second_step_says_so_and_the_code_works(open_page, live_server):
    alice = make_staff("browser-nojs", "caseworker")
    WebAuthnCredential.objects.create(
        user=alice.user, name="Laptop", credential_id=b"n" * 16, public_key=b"k"
    )
    base = live_server.url
    page = open_page("no-javascript", java_script_enabled=False)

    password_step(page, base, alice.username)
    page.wait_for_url(f"{base}/staff/verify/")
    expect(page.locator("#passkey-verification-placeholder")).to_be_visible()
    expect(page.locator("#passkey-verification-button")).to_have_count(0)
    page.fill("#id_code", totp_code(alice.device))
    page.click("form[action='/staff/verify/'] button")
    page.wait_for_url(f"{base}/staff/")
    assert page.problems == []
