"""
Receipt codes are kept as a keyed hash; a lookup's work does not depend on what
is stored, so its time cannot tell whether a selector exists.
"""

import base64
import hashlib
import hmac
import io
import secrets
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from encryption.models import ServerSecret
from encryption.server_secrets import server_secret
from intake import receipts
from intake.models import HelpRequest
from intake.services import find_by_receipt
from tests.factories import CaseFactory
from tests.intake_helpers import submit

pytestmark = pytest.mark.django_db

KEY_A = "receipt-test-key-A-" + "a" * 40
KEY_B = "receipt-test-key-B-" + "b" * 40
GENERIC = "No request matches this code"


def legacy_scrypt_hash(secret: str) -> str:
    """A receipt hash as the previous version stored it (salted scrypt of the secret)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"scrypt$16384$8$1${b64(salt)}${b64(digest)}"


def legacy_request(code: str) -> HelpRequest:
    case = CaseFactory(
        request__receipt_selector=code[:4], request__receipt_hash=legacy_scrypt_hash(code[4:])
    )
    return case.request


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts of keyed (HMAC) and slow (scrypt) hash computations; each still runs."""
    calls = {"keyed": 0, "slow": 0}

    def counting(kind, function):
        def counted(*args, **kwargs):
            calls[kind] += 1
            return function(*args, **kwargs)

        return counted

    monkeypatch.setattr(hmac, "new", counting("keyed", hmac.new))
    monkeypatch.setattr(hmac, "digest", counting("keyed", hmac.digest))
    monkeypatch.setattr(hashlib, "scrypt", counting("slow", hashlib.scrypt))
    return calls


def test_a_new_code_is_stored_as_a_keyed_hash_and_opens_its_request(client):
    code = submit(client)
    stored = HelpRequest.objects.get()
    plain = code.replace("-", "")

    assert stored.receipt_hash.startswith("hmac-sha256$")
    assert plain not in stored.receipt_hash and plain[4:] not in stored.receipt_hash
    assert "Received." in client.post("/status/", {"code": code}).content.decode()


def test_a_code_hashed_with_scrypt_before_still_opens_and_is_rehashed(client):
    code = receipts.new_code()
    request = legacy_request(code)

    assert find_by_receipt(receipts.formatted(code)) == request
    request.refresh_from_db()
    assert request.receipt_hash.startswith("hmac-sha256$")
    assert find_by_receipt(code.lower()) == request
    assert find_by_receipt("ZZZZ" + code[4:]) is None


def test_a_scrypt_hash_refuses_the_right_selector_with_a_wrong_secret(client):
    code = receipts.new_code()
    request = legacy_request(code)
    wrong = code[:4] + receipts.new_code()[4:]

    assert not receipts.matches_legacy(wrong[4:], request.receipt_hash)
    assert find_by_receipt(wrong) is None
    assert "Received." not in client.post("/status/", {"code": wrong}).content.decode()
    request.refresh_from_db()
    assert request.receipt_hash.startswith("scrypt$")  # a refused code rehashes nothing


def test_the_server_key_is_stored_only_encrypted_and_made_once():
    key = server_secret("receipt-hmac")

    assert len(key) == 32 and server_secret("receipt-hmac") == key
    assert ServerSecret.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM encryption_serversecret")
        raw = bytes(cursor.fetchone()[0])
    assert raw[:1] == b"\x80"  # Fernet framing
    assert base64.urlsafe_b64encode(key) not in raw and key not in raw


def test_codes_keep_working_after_the_encryption_key_is_rotated(client, settings):
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = KEY_A, []
    code = submit(client)

    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = KEY_B, [KEY_A]
    call_command("rotate_encryption_key", stdout=io.StringIO(), stderr=io.StringIO())
    settings.ENCRYPTION_OLD_KEYS = []

    assert "Received." in client.post("/status/", {"code": code}).content.decode()


def test_every_wrong_code_gets_the_same_answer_after_the_same_hash_checks(client, hash_calls):
    code = submit(client).replace("-", "")
    wrong_secret = code[:4] + ("Z" if code[4] != "Z" else "Y") + code[5:]
    legacy_request(receipts.new_code())  # the legacy hashes still to be checked
    tries = {
        "unknown selector": "ZZZZ" + code[4:] if code[:4] != "ZZZZ" else "YYYY" + code[4:],
        "known selector, wrong secret": wrong_secret,
        "malformed": "nonsense",
        "too long": "K3M9-" * 2000,
        "empty": "",
    }

    answers = {}
    for name, typed in tries.items():
        before = dict(hash_calls)
        response = client.post("/status/", {"code": typed})
        page = response.content.decode()
        work = {kind: hash_calls[kind] - before[kind] for kind in hash_calls}
        answers[name] = (response.status_code, GENERIC in page, "Received." in page, work)

    assert len(set(map(str, answers.values()))) == 1, answers
    assert answers["empty"][:3] == (200, True, False)
    assert answers["empty"][3]["slow"] == 1  # a legacy hash remains: one slow check each


@pytest.mark.django_db(transaction=True)
def test_processes_starting_together_agree_on_one_server_key(uses_postgres):
    if not uses_postgres:
        pytest.skip("concurrent first use needs a database with concurrent writers")
    keys, start = [], threading.Barrier(4)

    def first_use() -> None:
        start.wait()
        keys.append(server_secret("race-test"))
        connection.close()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 4 and len(set(keys)) == 1
    assert ServerSecret.objects.filter(name="race-test").count() == 1
