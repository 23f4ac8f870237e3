"""`manage.py create_staff`: bootstrap an account from the command line."""

import io
import json
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import TOTP

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db
STRONG = "a sufficiently long passphrase 42"


def create(*args: str, password: str = STRONG, monkeypatch=None) -> str:
    out = io.StringIO()
    monkeypatch.setenv("STAFF_PASSWORD", password)
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


def code_from(uri: str) -> str:
    from base64 import b32decode

    secret = parse_qs(urlparse(uri).query)["secret"][0]
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_json_output_has_the_uri_and_ten_backup_codes(monkeypatch):
    output = json.loads(create("frank", "--role", "admin", "--json", monkeypatch=monkeypatch))

    assert set(output) == {"username", "role", "otpauth_uri", "backup_codes"}
    assert (output["username"], output["role"]) == ("frank", "admin")
    assert output["otpauth_uri"].startswith("otpauth://totp/")
    assert len(set(output["backup_codes"])) == 10
    assert AuditEntry.objects.filter(action="staff.create", target="frank").exists()


def test_the_new_account_signs_in_with_its_password_and_authenticator(client, monkeypatch):
    output = json.loads(create("grace", "--role", "caseworker", "--json", monkeypatch=monkeypatch))

    client.post("/staff/login/", {"username": "grace", "password": STRONG})
    client.post("/staff/verify/", {"code": code_from(output["otpauth_uri"])})

    assert client.get("/staff/", follow=True).status_code == 200


def test_text_output_shows_a_terminal_qr_code_and_the_codes(monkeypatch):
    text = create("heidi", "--role", "coordinator", monkeypatch=monkeypatch)

    assert "otpauth://totp/" in text
    assert "█" in text or "▀" in text  # the QR code, drawn for a terminal
    assert text.count("\n  ") >= 10


def test_a_weak_password_is_refused_with_the_reason(monkeypatch):
    with pytest.raises(CommandError, match="too short"):
        create("ivan", "--role", "admin", password="short", monkeypatch=monkeypatch)


def test_an_existing_username_is_refused(monkeypatch):
    create("judy", "--role", "admin", monkeypatch=monkeypatch)
    with pytest.raises(CommandError, match="already exists"):
        create("judy", "--role", "admin", monkeypatch=monkeypatch)


def test_an_unknown_role_is_refused(monkeypatch):
    with pytest.raises(CommandError, match="invalid choice"):
        create("kim", "--role", "overlord", monkeypatch=monkeypatch)


def test_no_password_and_no_terminal_is_a_clear_error(monkeypatch):
    # A deployment script without STAFF_PASSWORD: stdin is not a terminal.
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(CommandError, match="set STAFF_PASSWORD"):
        call_command("create_staff", "grace", "--role", "admin", stdout=io.StringIO())
    assert not AuditEntry.objects.filter(action="staff.create", target="grace").exists()
