"""Encryption at rest: the raw database never holds what a person wrote."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from encryption import content
from encryption.access import ContentKeys
from encryption.fields import Sealed, UndecryptableValue
from encryption.fingerprint import fingerprints_for, normalise_contact
from intake.models import HelpRequest
from tests.content_keys import opened
from tests.csvdata import csv_row, write_csv
from tests.factories import HelpRequestFactory

ROOT = Path(__file__).resolve().parent.parent
SECRETS = [f"+7 900 555-{n:04d}" for n in range(1, 21)] + [
    f"Secret story {n:06d}" for n in range(1, 21)
]


def import_sample(tmp_path) -> None:
    rows = [csv_row(n) for n in range(1, 21)]
    call_command("import_requests", str(write_csv(tmp_path / "in.csv", rows)), stdout=io.StringIO())


def assert_absent(blob: bytes) -> None:
    for secret in SECRETS:
        assert secret.encode("utf-8") not in blob, secret
        assert secret.encode("utf-8").hex().encode() not in blob.lower(), secret


@pytest.mark.django_db
def test_the_columns_hold_ciphertext_and_only_a_content_key_reads_back_plaintext(tmp_path):
    import_sample(tmp_path)

    with connection.cursor() as cursor:
        cursor.execute("SELECT contact, narrative, alias FROM intake_helprequest")
        rows = cursor.fetchall()
    assert len(rows) == 20
    for contact, narrative, alias in rows:
        assert bytes(contact)[:1] == b"\x80"  # Fernet framing
        assert_absent(bytes(contact) + bytes(narrative))
        assert alias is None  # empty values are stored as NULL
    stored = HelpRequest.objects.get(reference="HIST-000007")
    # The ORM opens the at-rest layer only: what it gives is still sealed.
    assert isinstance(stored.contact, Sealed) and isinstance(stored.narrative, Sealed)
    assert_absent(bytes(stored.contact) + bytes(stored.narrative))
    texts = opened(stored, "contact", "narrative")
    assert texts["contact"] == "+7 900 555-0007"
    assert texts["narrative"].startswith("Secret story 000007")


@pytest.mark.django_db(transaction=True)
def test_a_dump_of_the_whole_database_holds_no_plaintext(tmp_path):
    import_sample(tmp_path)

    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        dump = subprocess.run(
            [
                "pg_dump",
                "--data-only",
                "-h",
                settings["HOST"] or "127.0.0.1",
                "-p",
                str(settings["PORT"] or 5432),
                "-U",
                settings["USER"],
                settings["NAME"],
            ],
            capture_output=True,
            check=True,
        ).stdout
    else:
        dump = "\n".join(connection.connection.iterdump()).encode("utf-8")
    assert b"HIST-000007" in dump  # the dump did see the rows
    assert_absent(dump)


def test_the_sqlite_file_holds_no_plaintext_after_an_import(tmp_path):
    database = tmp_path / "scan.sqlite3"
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    rows = [csv_row(n) for n in range(1, 21)]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    # The first caseworker creates the organisation key that imports are sealed to.
    subprocess.run(
        [*manage, "create_staff", "first", "--role", "caseworker", "--json"],
        env={**env, "STAFF_PASSWORD": "a long first caseworker password"},
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    subprocess.run(
        [*manage, "import_requests", str(write_csv(tmp_path / "in.csv", rows))],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    blob = database.read_bytes()
    assert b"HIST-000007" in blob
    assert_absent(blob)


@pytest.mark.django_db
def test_values_written_under_an_old_key_still_read_during_a_rotation(settings):
    settings.ENCRYPTION_KEY = "key-A-" + "a" * 40
    settings.ENCRYPTION_OLD_KEYS = []
    request = HelpRequestFactory(contact="@old_key_contact", narrative="written under A")

    settings.ENCRYPTION_KEY = "key-B-" + "b" * 40
    settings.ENCRYPTION_OLD_KEYS = ["key-A-" + "a" * 40]
    assert opened(HelpRequest.objects.get(pk=request.pk), "narrative") == {
        "narrative": "written under A"
    }

    settings.ENCRYPTION_OLD_KEYS = []
    with pytest.raises(UndecryptableValue):
        HelpRequest.objects.get(pk=request.pk)


@pytest.mark.django_db
def test_secret_key_plays_no_part_in_stored_data(settings):
    request = HelpRequestFactory(narrative="independent of SECRET_KEY")
    settings.SECRET_KEY = "a-completely-different-signing-key-" + "x" * 20

    assert opened(HelpRequest.objects.get(pk=request.pk), "narrative") == {
        "narrative": "independent of SECRET_KEY"
    }


def test_contacts_written_differently_share_a_fingerprint():
    assert normalise_contact("+7 (900) 555-12-34") == normalise_contact("89005551234")
    assert normalise_contact("@Ivan_Petrov ") == normalise_contact("https://t.me/ivan_petrov")
    keys = ContentKeys({1: content.new_key_pair().private})
    assert fingerprints_for(keys, "@Ivan_Petrov") == fingerprints_for(keys, "ivan_petrov")
    assert fingerprints_for(keys, "@ivan") != fingerprints_for(keys, "@ivan2")
    assert fingerprints_for(keys, "   ") == []


def test_a_fingerprint_depends_on_the_organisation_key_not_on_server_keys(settings):
    keys = ContentKeys({1: content.new_key_pair().private})
    before = fingerprints_for(keys, "@ivan")
    settings.ENCRYPTION_KEY = "another-key-" + "c" * 40
    assert fingerprints_for(keys, "@ivan") == before
    assert fingerprints_for(ContentKeys({1: content.new_key_pair().private}), "@ivan") != before
    both = ContentKeys({1: content.new_key_pair().private, 2: content.new_key_pair().private})
    assert len(fingerprints_for(both, "@ivan")) == 2
