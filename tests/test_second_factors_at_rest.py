"""
Security review, item 3: second factors at rest. A copy of the database must
hold neither a TOTP secret nor a backup code; both keep working, throttled, and
survive a key rotation.
"""

import importlib
import io
import json
from base64 import b32decode
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_otp.oath import TOTP

from tests.staffing import enter_password, make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db
STRONG = "a sufficiently long passphrase 42"
KEY_A = "second-factor-test-key-A-" + "a" * 40
KEY_B = "second-factor-test-key-B-" + "b" * 40


def database_copy() -> bytes:
    """Everything the database holds: on SQLite the whole file image (free
    pages included), on PostgreSQL every row of every table."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.serialize()
    quote = connection.ops.quote_name
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value))
                    else:
                        parts.append(str(value).encode())
    return b"\n".join(parts)


def forms_of(secret: str) -> set[str]:
    return {secret, secret.lower(), secret.upper()}


def test_the_database_holds_neither_the_totp_secret_nor_any_backup_code(monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", STRONG)
    out = io.StringIO()
    call_command("create_staff", "frank", "--role", "caseworker", "--json", stdout=out)
    printed = json.loads(out.getvalue())

    secret = parse_qs(urlparse(printed["otpauth_uri"]).query)["secret"][0]
    key = b32decode(secret + "=" * (-len(secret) % 8))
    looked_for = forms_of(secret) | forms_of(key.hex())
    for code in printed["backup_codes"]:
        looked_for |= forms_of(code) | forms_of(code.replace("-", ""))
    copy = database_copy()
    found = [value for value in looked_for if value.encode() in copy]
    assert found == []


def test_the_printed_secret_and_codes_still_sign_in(client, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", STRONG)
    out = io.StringIO()
    call_command("create_staff", "grace", "--role", "caseworker", "--json", stdout=out)
    printed = json.loads(out.getvalue())

    client.post("/staff/login/", {"username": "grace", "password": STRONG})
    response = client.post("/staff/verify/", {"code": printed["backup_codes"][0].upper()})

    assert response.status_code == 302
    # Signed in: a caseworker who holds no organisation key yet (another was
    # first) waits for access, and that page is theirs to see.
    assert client.get("/staff/access/").status_code == 200


def test_a_wrong_code_slows_down_the_next_try(alice):
    from accounts.models import AuthenticatorDevice, BackupCodeDevice
    from accounts.services import verify_second_factor

    right = totp_code(alice.device)
    wrong = "000000" if right != "000000" else "111111"
    assert verify_second_factor(alice.user, wrong) is None
    assert verify_second_factor(alice.user, "wrong-code") is None
    # Refused right after a failure, even the right code: django-otp's throttling.
    assert verify_second_factor(alice.user, right) is None
    assert verify_second_factor(alice.user, alice.backup_codes[0]) is None

    earlier = timezone.now() - timedelta(minutes=5)
    AuthenticatorDevice.objects.update(throttling_failure_timestamp=earlier)
    BackupCodeDevice.objects.update(throttling_failure_timestamp=earlier)
    assert verify_second_factor(alice.user, right) is not None
    assert verify_second_factor(alice.user, alice.backup_codes[0]) is not None


def test_second_factors_survive_a_key_rotation(client, settings):
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = KEY_A, []
    alice = make_staff("alice", "caseworker")

    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = KEY_B, [KEY_A]
    enter_password(client, "alice")
    assert client.post("/staff/verify/", {"code": alice.backup_codes[0]}).status_code == 302
    client.post("/staff/logout/")
    call_command("rotate_encryption_key", stdout=io.StringIO(), stderr=io.StringIO())

    settings.ENCRYPTION_OLD_KEYS = []
    sign_in(client, alice)  # the authenticator's secret was re-encrypted under KEY_B
    assert client.get("/staff/").status_code == 200


OLD_TABLES = [
    """CREATE TABLE otp_totp_totpdevice (
        id integer PRIMARY KEY, user_id integer NOT NULL, name varchar(64) NOT NULL,
        confirmed boolean NOT NULL, key varchar(80) NOT NULL, step smallint NOT NULL,
        t0 bigint NOT NULL, digits smallint NOT NULL, tolerance smallint NOT NULL,
        drift smallint NOT NULL, last_t bigint NOT NULL)""",
    """CREATE TABLE otp_static_staticdevice (
        id integer PRIMARY KEY, user_id integer NOT NULL, name varchar(64) NOT NULL,
        confirmed boolean NOT NULL)""",
    """CREATE TABLE otp_static_statictoken (
        id integer PRIMARY KEY, device_id integer NOT NULL, token varchar(16) NOT NULL)""",
]
OLD_KEY_HEX = "3132333435363738393031323334353637383930"  # RFC 6238's test key


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_devices_out_of_django_otps_clear_tables(client):
    erin = make_staff("erin", "caseworker", enrolled=False)
    with connection.cursor() as cursor:
        for statement in OLD_TABLES:
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice VALUES (1, %s, 'phone', %s, %s, 30, 0, 6, 1, 0, -1)",
            [erin.user.pk, True, OLD_KEY_HEX],
        )
        cursor.execute(
            "INSERT INTO otp_static_staticdevice VALUES (1, %s, 'backup', %s)", [erin.user.pk, True]
        )
        cursor.execute("INSERT INTO otp_static_statictoken VALUES (1, 1, 'abcd2345')")
    migration = importlib.import_module(
        "accounts.migrations.0004_move_devices_out_of_django_otp_plugins"
    )

    with connection.schema_editor() as editor:
        migration.move_devices(apps, editor)

    assert not {"otp_totp_totpdevice", "otp_static_statictoken"} & set(
        connection.introspection.table_names()
    )
    assert OLD_KEY_HEX.encode() not in database_copy()
    code = f"{TOTP(bytes.fromhex(OLD_KEY_HEX)).token():06d}"
    enter_password(client, "erin")
    assert client.post("/staff/verify/", {"code": code})["Location"] == "/staff/"
    client.post("/staff/logout/")
    enter_password(client, "erin")
    assert client.post("/staff/verify/", {"code": "ABCD-2345"})["Location"] == "/staff/"
