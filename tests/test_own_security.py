"""/staff/security/: one's own password, authenticator and backup codes."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import AuthenticatorDevice
from audit.models import AuditEntry
from tests.staffing import PASSWORD, enter_password, sign_in, totp_code

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another long phrase of mine"


def english_client() -> Client:
    other = Client()
    other.cookies["django_language"] = "en"
    return other


def change_password(client, current: str, new: str = NEW_PASSWORD, again: str | None = None):
    return client.post(
        "/staff/security/password/",
        {"current_password": current, "new_password": new, "new_password_again": again or new},
    )


def test_the_page_shows_all_three(client, alice):
    sign_in(client, alice)

    page = client.get("/staff/security/").content.decode()

    assert "Change my password" in page
    assert "Replace my authenticator" in page
    assert "You have 10 unused backup codes." in page


def test_a_password_change_keeps_this_session_and_ends_the_others(client, alice):
    elsewhere = english_client()
    sign_in(elsewhere, alice)
    sign_in(client, alice)

    change_password(client, PASSWORD)

    assert client.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.password_changed", target="alice").count() == 1


def test_a_weak_or_mistyped_new_password_changes_nothing(client, alice):
    sign_in(client, alice)

    weak = change_password(client, PASSWORD, "alice")
    mistyped = change_password(client, PASSWORD, NEW_PASSWORD, "something else entirely")

    assert weak.status_code == mistyped.status_code == 400
    assert "too short" in weak.content.decode()
    assert "The two new passwords differ." in mistyped.content.decode()
    assert enter_password(english_client(), "alice").status_code == 302


def test_wrong_current_passwords_count_as_failures_and_end_the_session(client, alice):
    sign_in(client, alice)
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT - 1):
        response = change_password(client, "not my password")
        assert "This is not your current password." in response.content.decode()

    change_password(client, "not my password")

    assert client.get("/staff/").status_code == 302
    assert not AuditEntry.objects.filter(action="auth.password_changed").exists()


def test_new_backup_codes_need_the_password(client, alice):
    sign_in(client, alice)

    refused = client.post("/staff/security/backup-codes/", {"password": "wrong"})
    response = client.post("/staff/security/backup-codes/", {"password": PASSWORD})

    assert refused.status_code == 400
    assert len(response.context["codes"]) == 10
    client.post("/staff/logout/")
    enter_password(client, "alice")
    assert client.post("/staff/verify/", {"code": response.context["codes"][0]}).status_code == 302
    client.post("/staff/logout/")
    enter_password(client, "alice")
    assert client.post("/staff/verify/", {"code": alice.backup_codes[0]}).status_code == 200


def test_replacing_the_authenticator_takes_the_password_and_a_current_code(client, alice):
    sign_in(client, alice)
    old_device = alice.device

    wrong = "000000" if totp_code(old_device) != "000000" else "111111"
    refused = client.post("/staff/security/authenticator/", {"password": PASSWORD, "code": wrong})
    assert refused.status_code == 400
    scan = client.post(
        "/staff/security/authenticator/", {"password": PASSWORD, "code": alice.backup_codes[1]}
    )
    assert b"<svg" in scan.content
    new_device = AuthenticatorDevice.objects.get(user=alice.user, confirmed=False)
    done = client.post(
        "/staff/security/authenticator/", {"stage": "confirm", "code": totp_code(new_device)}
    )

    assert done["Location"] == "/staff/security/"
    assert client.get("/staff/").status_code == 200  # this session rests on the new device
    assert not AuthenticatorDevice.objects.filter(pk=old_device.pk).exists()
    assert AuditEntry.objects.filter(action="auth.authenticator_replaced", actor="alice")


def test_a_stolen_session_cannot_replace_the_authenticator(client, alice):
    sign_in(client, alice)

    response = client.post(
        "/staff/security/authenticator/", {"password": "guess", "code": totp_code(alice.device)}
    )

    assert response.status_code == 400
    assert not AuthenticatorDevice.objects.filter(user=alice.user, confirmed=False).exists()
