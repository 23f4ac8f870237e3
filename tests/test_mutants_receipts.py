"""
Mistakes in intake/receipts.py that mutation testing (dev.py mutants) showed no
test would notice: how much typing around a code is read, what is a code at
all, damaged or foreign legacy hashes, and the format-blind check the load
test uses.
"""

import base64
import hashlib
import secrets

import pytest

from intake import receipts
from intake.services import find_by_receipt
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.test_receipt_hashing import legacy_scrypt_hash

pytestmark = pytest.mark.django_db


def padded(code: str, length: int) -> str:
    """The code as typed with spaces around it, `length` characters in all."""
    typed = receipts.formatted(code)
    before = (length - len(typed)) // 2
    return " " * before + typed + " " * (length - len(typed) - before)


def test_a_code_typed_with_spaces_up_to_64_characters_opens_its_request(client):
    code = submit(client).replace("-", "")

    assert find_by_receipt(padded(code, receipts.MAX_TYPED)) is not None
    assert find_by_receipt(padded(code, receipts.MAX_TYPED + 1)) is None  # refused unread
    assert receipts.MAX_TYPED == 64


def test_only_twenty_characters_of_the_alphabet_are_a_code():
    code = receipts.new_code()

    assert receipts.normalise(code) == code
    assert receipts.normalise(code[:-1]) is None  # one short, every character valid
    assert receipts.normalise(code + "7") is None
    assert receipts.normalise("U" + code[1:]) is None  # the right length, U is not in it


def test_a_damaged_legacy_hash_opens_nothing_and_the_lookup_still_answers():
    code = receipts.new_code()
    for damaged in ("scrypt$16384$8$1$", "scrypt$16384$8$1$%%%%$%%%%", "scrypt$x$8$1$AAAA$AAAA"):
        CaseFactory(request__receipt_selector=code[:4], request__receipt_hash=damaged)

        assert find_by_receipt(code) is None
        assert receipts.opens(code, damaged) is False


def test_a_hash_of_another_scheme_laid_out_like_scrypt_opens_nothing():
    code = receipts.new_code()
    legacy = legacy_scrypt_hash(code[4:])
    foreign = "pbkdf2" + legacy.removeprefix("scrypt")

    assert receipts.matches_legacy(code[4:], legacy)
    assert not receipts.matches_legacy(code[4:], foreign)


def test_opens_reads_either_format():
    code, other = receipts.new_code(), receipts.new_code()

    assert receipts.opens(code, receipts.hash_code(code))
    assert receipts.opens(code, legacy_scrypt_hash(code[4:]))
    assert not receipts.opens(other, receipts.hash_code(code))
    assert not receipts.opens(other, legacy_scrypt_hash(code[4:]))


def test_a_legacy_request_is_not_opened_by_its_selector_with_another_secret():
    code = receipts.new_code()
    CaseFactory(
        request__receipt_selector=code[:4], request__receipt_hash=legacy_scrypt_hash(code[4:])
    )
    wrong = code[:4] + receipts.new_code()[4:]

    assert find_by_receipt(wrong) is None
    assert not receipts.matches_digest(receipts.digest(code), legacy_scrypt_hash(code[4:]))


def test_a_legacy_hash_opens_whatever_the_length_of_its_salt():
    secret = receipts.new_code()[4:]
    for size in (1, 2, 3, 7, 16, 19):  # every base64 padding: 0, 1 or 2 characters
        salt = secrets.token_bytes(size)
        digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        stored = f"scrypt$16384$8$1${b64(salt)}${b64(digest)}"

        assert receipts.matches_legacy(secret, stored), size


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_retry_code_is_a_whole_code_made_again_from_the_same_key_only():
    """A bot's retry gets its code made again (intake.api): every one of the 100
    bits comes from the key, so it is a code like any other, the same for the
    same bot and key, and another for another key or bot."""
    code = receipts.code_for_retry(7, "k" * 32)

    assert receipts.normalise(code) == code and len(code) == receipts.LENGTH
    assert receipts.code_for_retry(7, "k" * 32) == code
    others = {receipts.code_for_retry(7, f"key-{n:04d}-" + "x" * 20) for n in range(50)}
    assert code not in others and len(others) == 50
    assert receipts.code_for_retry(8, "k" * 32) != code
    # The first character varies too: the top bits are the HMAC's, not zeros.
    assert len({other[0] for other in others}) > 10
    assert receipts.retry_index(7, "k" * 32) != receipts.retry_index(8, "k" * 32)
