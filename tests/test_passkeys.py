"""
Passkeys and security keys (issue 26), through our pages and django-otp-webauthn's
verification, with a software authenticator (tests/soft_authenticator.py):
registering one's own, signing in with it, what a relay, a replay and a clone
get, the WebAuthn policy with its onion exemption, and who may remove whose.
"""

import json

import pytest
from django.conf import settings as django_settings
from django.test import Client as DjangoClient
from django_otp_webauthn.models import WebAuthnCredential

from accounts import services
from audit.models import AuditEntry
from tests.soft_authenticator import (
    SoftAuthenticator,
    begin_assertion,
    complete_assertion,
    register,
    sign_in_with,
)
from tests.staffing import (
    PASSWORD,
    confirmed_post,
    enter_password,
    make_staff,
    sign_in,
    totp_code,
)

pytestmark = pytest.mark.django_db


def Client(**defaults) -> DjangoClient:
    """A test client that chose English (tests read English messages)."""
    client = DjangoClient(**defaults)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def actions(code: str) -> list[dict]:
    return [e.detail for e in AuditEntry.objects.filter(action=code).order_by("pk")]


def with_passkey(client, staff) -> SoftAuthenticator:
    """Sign in with the code, confirm the password, register a passkey."""
    sign_in(client, staff)
    assert client.post("/staff/security/passkeys/", {"password": PASSWORD}).status_code == 302
    authenticator = SoftAuthenticator()
    response = register(client, authenticator)
    assert response.status_code == 200, response.content
    return authenticator


def second_step_with_passkey(staff, authenticator, **kwargs):
    client = Client()
    enter_password(client, staff.username)
    return client, sign_in_with(client, authenticator, **kwargs)


def test_a_registered_passkey_finishes_the_sign_in_and_opens_the_queue(alice):
    authenticator = with_passkey(Client(), alice)
    assert actions("auth.passkey_added") and services.has_passkey(alice.user)
    stored = WebAuthnCredential.objects.get(user=alice.user)
    assert stored.public_key and stored.sign_count == 0  # a public key and a counter

    client, response = second_step_with_passkey(alice, authenticator)

    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert actions("auth.login")[-1]["factor"] == "webauthn"


def test_registration_needs_the_password_confirmed_in_this_session(alice):
    client = Client()
    sign_in(client, alice)
    refused = client.post("/staff/webauthn/registration/begin/")
    assert refused.status_code == 403
    wrong = client.post("/staff/security/passkeys/", {"password": "not it"})
    assert wrong.status_code == 400
    assert client.post("/staff/webauthn/registration/begin/").status_code == 403
    assert not WebAuthnCredential.objects.exists()


def test_a_passkey_is_not_a_way_past_the_password(alice):
    authenticator = with_passkey(Client(), alice)
    anonymous = Client()
    assert anonymous.post("/staff/webauthn/authentication/begin/").status_code == 403
    # Passwordless sign-in is off: the library's answer without a session is refused.
    options = {"challenge": "AAAA"}
    response = complete_assertion(anonymous, authenticator.assertion(options))
    assert response.status_code == 403
    assert anonymous.get("/staff/").status_code != 200


def test_an_assertion_made_for_another_origin_is_refused(alice):
    """A phishing page on another origin relays the password and gets the
    browser to sign for it: the signature is real, the origin is the page's."""
    authenticator = with_passkey(Client(), alice)
    for origin in ("https://localhost.example", "https://127.0.0.2", "http://localhost"):
        client, response = second_step_with_passkey(alice, authenticator, origin=origin)
        assert response.status_code == 422, (origin, response.content)
        assert client.get("/staff/").status_code == 302
        assert client.get("/staff/")["Location"] == "/staff/verify/"
    assert [d["stage"] for d in actions("auth.failed")][-3:] == ["webauthn"] * 3


def test_a_replayed_assertion_is_refused(alice):
    authenticator = with_passkey(Client(), alice)
    client = Client()
    enter_password(client, alice.username)
    captured = authenticator.assertion(begin_assertion(client))
    assert complete_assertion(client, captured).status_code == 200

    # The same answer again: in the same session (its challenge was used up) ...
    again = Client()
    enter_password(again, alice.username)
    assert complete_assertion(again, captured).status_code == 400  # no ceremony under way
    # ... and against a fresh challenge of another session.
    begin_assertion(again)
    assert complete_assertion(again, captured).status_code == 422
    assert again.get("/staff/")["Location"] == "/staff/verify/"


@pytest.mark.parametrize("behind", [0, 1, 3])  # lower, or no higher: all mean a copy
def test_a_cloned_passkey_with_a_lower_counter_is_refused_switched_off_and_audited(alice, behind):
    authenticator = with_passkey(Client(), alice)
    for _ in range(3):
        assert second_step_with_passkey(alice, authenticator)[1].status_code == 200
    assert WebAuthnCredential.objects.get().sign_count == 3

    client, response = second_step_with_passkey(alice, authenticator, counter=behind)

    assert response.status_code == 403
    assert response.json()["code"] == "credential_cloned"
    assert client.get("/staff/")["Location"] == "/staff/verify/"
    assert actions("auth.passkey_cloned") == [{"passkey": WebAuthnCredential.objects.get().pk,
                                               "stored": 3, "received": behind}]  # fmt: skip
    assert not WebAuthnCredential.objects.get().confirmed
    # Switched off: even the genuine key, counter moved on, no longer signs in.
    assert second_step_with_passkey(alice, authenticator)[1].status_code == 403


def test_a_lower_counter_without_a_valid_signature_is_no_clone(alice):
    """Only a genuine signature says two copies of the key exist: a forged
    answer with a low counter cannot switch someone's passkey off."""
    authenticator = with_passkey(Client(), alice)
    assert second_step_with_passkey(alice, authenticator)[1].status_code == 200
    forger = SoftAuthenticator()
    forger.credential_id = authenticator.credential_id

    response = second_step_with_passkey(alice, forger, counter=0)[1]

    assert response.status_code == 422
    assert not actions("auth.passkey_cloned")
    assert WebAuthnCredential.objects.get().confirmed


def test_owners_rename_and_remove_their_own_passkeys_audited(alice, bob):
    client = Client()
    with_passkey(client, alice)
    mine = WebAuthnCredential.objects.get(user=alice.user)
    theirs_client = Client()
    with_passkey(theirs_client, bob)
    theirs = WebAuthnCredential.objects.get(user=bob.user)

    assert (
        client.post(f"/staff/security/passkeys/{mine.pk}/name/", {"name": "Yubikey"})["Location"]
        == "/staff/security/"
    )
    mine.refresh_from_db()
    assert mine.name == "Yubikey"
    page = client.get("/staff/security/").content.decode()
    assert "Yubikey" in page

    # Someone else's: not found, whatever is posted.
    for path in (f"{theirs.pk}/name/", f"{theirs.pk}/remove/"):
        answer = client.post(
            f"/staff/security/passkeys/{path}", {"name": "x", "password": PASSWORD}
        )
        assert answer.status_code == 404
    wrong = client.post(f"/staff/security/passkeys/{mine.pk}/remove/", {"password": "no"})
    assert wrong.status_code == 400
    gone = client.post(f"/staff/security/passkeys/{mine.pk}/remove/", {"password": PASSWORD})
    assert gone.status_code == 302

    assert not WebAuthnCredential.objects.filter(pk=mine.pk).exists()
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
    assert [d["passkey"] for d in actions("auth.passkey_renamed")] == [mine.pk]
    assert [d["passkey"] for d in actions("auth.passkey_removed")] == [mine.pk]


# --- the policy -----------------------------------------------------------------------


@pytest.fixture
def policy(settings):
    settings.WEBAUTHN_REQUIRED_ROLES = ["caseworker"]
    settings.ALLOWED_HOSTS = ["testserver", "staffxyz.onion"]
    settings.WEBAUTHN_EXEMPT_HOSTS = ["staffxyz.onion"]
    return settings


def test_under_the_policy_an_authenticator_code_alone_does_not_finish(alice, policy):
    authenticator = with_passkey(Client(), alice)
    client = Client()
    enter_password(client, alice.username)

    response = client.post("/staff/verify/", {"code": totp_code(alice.device)})

    assert response.status_code == 400
    assert "Your role signs in with a passkey" in response.content.decode()
    assert client.get("/staff/")["Location"] == "/staff/verify/"
    # The passkey does; so does a backup code, as before.
    assert sign_in_with(client, authenticator).status_code == 200
    backup = Client()
    enter_password(backup, alice.username)
    assert backup.post("/staff/verify/", {"code": alice.backup_codes[0]}).status_code == 302
    assert backup.get("/staff/").status_code == 200


def test_under_the_policy_someone_without_a_passkey_is_walked_to_registering_one(
    alice, carol, policy
):
    client = Client()
    sign_in(client, alice)  # password and code: accepted, for registering only
    for path in ("/staff/", "/staff/security/", "/staff/access/", "/admin/"):
        assert client.get(path)["Location"] == "/staff/security/passkeys/", path
    page = client.get("/staff/security/passkeys/")
    assert page.status_code == 200
    assert 'id="passkey-registration-placeholder"' in page.content.decode()  # no password again

    assert register(client, SoftAuthenticator()).status_code == 200

    assert client.get("/staff/").status_code == 200
    # The session now rests on the new passkey, not on the code.
    assert client.session["otp_device_id"].startswith("django_otp_webauthn.")
    # A backup code, for someone with no passkey, leads to registering one too.
    bob = make_staff("bob", "caseworker")
    backup = Client()
    enter_password(backup, bob.username)
    assert backup.post("/staff/verify/", {"code": bob.backup_codes[0]}).status_code == 302
    assert backup.get("/staff/")["Location"] == "/staff/security/passkeys/"
    # A coordinator's role is not under the policy: the code is enough.
    other = Client()
    sign_in(other, carol)
    assert other.get("/staff/dashboard/").status_code == 200


def test_on_the_onion_host_the_code_is_enough_under_the_policy(alice, policy):
    with_passkey(Client(), alice)
    onion = Client(HTTP_HOST="staffxyz.onion")
    enter_password(onion, alice.username)
    page = onion.get("/staff/verify/").content.decode()
    assert "On the onion address your authenticator code is enough" in page

    assert onion.post("/staff/verify/", {"code": totp_code(alice.device)}).status_code == 302
    assert onion.get("/staff/").status_code == 200

    # The same code path on the ordinary host is refused (shown above); and
    # someone without a passkey is not walked to registering one on the onion.
    policy.WEBAUTHN_EXEMPT_HOSTS = []
    refused = Client(HTTP_HOST="staffxyz.onion")
    enter_password(refused, alice.username)
    assert refused.post("/staff/verify/", {"code": totp_code(alice.device)}).status_code == 400


# --- resets and the Django admin ------------------------------------------------------


def test_only_the_confirmed_reset_removes_someone_elses_passkeys(alice, dave):
    with_passkey(Client(), alice)
    admin = Client()
    sign_in(admin, dave)
    credential = WebAuthnCredential.objects.get()
    for path in (
        "/admin/django_otp_webauthn/webauthncredential/",
        "/admin/django_otp_webauthn/webauthncredential/add/",
        f"/admin/django_otp_webauthn/webauthncredential/{credential.pk}/delete/",
        "/admin/django_otp_webauthn/webauthnattestation/",
    ):
        assert admin.get(path).status_code == 404, path
        assert admin.post(path, {"post": "yes"}).status_code == 404, path
    assert WebAuthnCredential.objects.exists()

    response = confirmed_post(admin, f"/staff/accounts/{alice.user.pk}/reset-device/")

    assert response.status_code == 200
    assert not WebAuthnCredential.objects.exists()
    assert actions("staff.reset_device")[-1]["passkeys"] == 1
    assert services.must_choose_password(alice.user)


def test_a_passkey_added_outside_the_pages_is_audited(alice):
    WebAuthnCredential.objects.create(
        user=alice.user, name="from a shell", credential_id=b"k" * 16, public_key=b"p"
    )
    assert actions("account.device_added")[-1] == {"device": "webauthncredential"}


def test_only_the_passkey_pages_may_fetch_and_only_from_our_origin(alice):
    """The library's script fetches its ceremony; every other page keeps
    connect-src at 'none' (the public pages above all)."""
    client = Client()
    assert "connect-src" not in client.get("/staff/login/")["Content-Security-Policy"]
    assert "connect-src" not in client.get("/")["Content-Security-Policy"]
    enter_password(client, alice.username)
    policy = client.get("/staff/verify/")["Content-Security-Policy"]
    assert "connect-src 'self'" in policy and "script-src 'self'" in policy


def test_the_passkey_script_speaks_russian():
    """The library ships no Russian; our catalogue gives its messages one."""
    client = DjangoClient()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "ru"
    catalogue = client.get("/staff/webauthn/jsi18n/").content.decode()
    assert json.dumps("Ключ добавлен.") in catalogue  # "Registration successful!"


def test_failed_passkey_answers_count_like_wrong_codes_and_lock(alice, settings):
    authenticator = with_passkey(Client(), alice)
    client = Client()
    enter_password(client, alice.username)
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        response = sign_in_with(client, authenticator, origin="https://evil.example")
        assert response.status_code == 422

    refused = client.post("/staff/webauthn/authentication/begin/")

    assert refused.status_code == 429
    assert refused.json()["code"] == "refused"
    assert actions("auth.locked")[-1]["scope"] == "source"
    # Paused for this source: not even the genuine answer gets through now.
    assert (
        complete_assertion(client, authenticator.assertion({"challenge": "AAAA"})).status_code
        == 429
    )
