"""
Ciphertext lengths do not give away the length of what a person wrote: every
encrypted value is padded to a size bucket first (encryption/padding.py).
"""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from encryption.fields import Unsealed, keyring
from encryption.padding import BUCKETS, bucket, pad, unpad
from intake.models import HelpRequest
from tests.content_keys import opened
from tests.factories import HelpRequestFactory

pytestmark = pytest.mark.django_db


def raw(request: HelpRequest, column: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM intake_helprequest WHERE id = %s", [request.pk])  # noqa: S608
        return bytes(cursor.fetchone()[0])


def test_contacts_of_any_usual_length_encrypt_to_the_same_length():
    contacts = ["@iv", "+7 900 123-45-67", "ivan.petrovich.sidorov@example.org", "я" * 29]
    stored = [raw(HelpRequestFactory(contact=contact), "contact") for contact in contacts]

    assert len({len(value) for value in stored}) == 1


def test_narratives_in_one_bucket_encrypt_to_the_same_length_and_read_back():
    short, long = "Помогите. " * 120, "Помогите. " * 200  # 2,160 and 3,600 bytes: 4096
    requests = [HelpRequestFactory(narrative=text) for text in (short, long)]

    assert len(raw(requests[0], "narrative")) == len(raw(requests[1], "narrative"))
    read = [opened(HelpRequest.objects.get(pk=r.pk), "narrative")["narrative"] for r in requests]
    assert read == [short, long]


def test_the_buckets_are_the_documented_ones():
    assert BUCKETS == (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
    assert [bucket(size) for size in (1, 64, 65, 4097, 65536, 65537, 200_000)] == [
        64, 64, 128, 8192, 65536, 131072, 262144,
    ]  # fmt: skip
    for text in (b"", b"x", "я".encode() * 5000, b"\xff" * 70):
        assert len(pad(text)) == bucket(len(text) + 6) and unpad(pad(text)) == text


def test_a_value_stored_before_padding_still_reads_and_rotation_pads_it():
    requests = {}
    for contact in ("@old_style_contact", "@x"):
        requests[contact] = HelpRequestFactory(contact=contact)
        with connection.cursor() as cursor:  # as a version before padding wrote it: UTF-8
            cursor.execute(
                "UPDATE intake_helprequest SET contact = %s WHERE id = %s",
                [keyring().encrypt(contact.encode()), requests[contact].pk],
            )
    request = requests["@old_style_contact"]
    unpadded = raw(request, "contact")
    assert len(unpadded) > len(raw(requests["@x"], "contact"))
    stored = HelpRequest.objects.get(pk=request.pk)
    assert isinstance(stored.contact, Unsealed)  # from before content keys
    assert opened(stored, "contact")["contact"] == "@old_style_contact"

    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out, stderr=io.StringIO())

    assert "Re-encrypted 2 values in 2 rows;" in out.getvalue()
    assert len(raw(request, "contact")) > len(unpadded)
    # Padded to the same bucket: their lengths no longer tell them apart.
    assert len(raw(request, "contact")) == len(raw(requests["@x"], "contact"))
    stored = HelpRequest.objects.get(pk=request.pk)
    assert isinstance(stored.contact, Unsealed)
    assert opened(stored, "contact")["contact"] == "@old_style_contact"
