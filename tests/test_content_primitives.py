"""The content-key primitives (encryption/content.py): formats of docs/encryption.md."""

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from encryption import content, padding
from encryption.content import CannotOpen, KdfParams

CHEAP = KdfParams(passes=1, memory_kib=8)


ROW = "GL-AB12-CD34"


@given(st.text(max_size=5000))
def test_a_sealed_text_opens_with_its_key_label_and_row(text):
    key = content.new_key()
    sealed = content.seal_text(key, text, "intake.helprequest.narrative", ROW)
    assert sealed[0] == content.SEALED_VALUE_V2
    assert content.open_text(key, sealed, "intake.helprequest.narrative", ROW) == text


def test_a_sealed_text_does_not_open_with_another_key_label_or_row():
    key = content.new_key()
    sealed = content.seal_text(key, "позвоните мне", "intake.helprequest.contact", ROW)
    with pytest.raises(CannotOpen):
        content.open_text(content.new_key(), sealed, "intake.helprequest.contact", ROW)
    with pytest.raises(CannotOpen):
        content.open_text(key, sealed, "intake.helprequest.narrative", ROW)
    with pytest.raises(CannotOpen):
        content.open_text(key, sealed, "intake.helprequest.contact", "GL-ZZ99-ZZ99")


def test_a_version_1_value_as_documented_still_opens_and_names_no_row():
    key = content.new_key()
    nonce = bytes(range(12))
    padded = padding.pad("позвоните мне".encode())
    aad = b"tropa/value/v1|intake.helprequest.contact"
    sealed = bytes([0xC1]) + nonce + ChaCha20Poly1305(key).encrypt(nonce, padded, aad)
    assert not content.is_bound(sealed)
    for row in (ROW, "GL-ZZ99-ZZ99"):
        assert content.open_text(key, sealed, "intake.helprequest.contact", row) == "позвоните мне"


@given(st.integers(min_value=0, max_value=20000))
def test_sealed_lengths_reveal_only_the_bucket(length):
    key = content.new_key()
    sealed = content.seal_text(key, "x" * length, "f", ROW)
    overhead = 1 + content.NONCE_BYTES + 16
    assert len(sealed) - overhead == padding.bucket(padding.HEADER + length)


def test_texts_in_one_bucket_give_ciphertexts_of_one_length():
    key = content.new_key()
    lengths = {len(content.seal_text(key, "a" * n, "f", ROW)) for n in range(0, 59)}
    assert len(lengths) == 1


def test_a_wrapped_key_names_its_envelope_and_opens_only_for_its_purpose_and_row():
    envelope_key, key = content.new_key(), content.new_key()
    purpose = "intake.helprequest.content_key"
    wrapped = content.wrap_key(123456789, envelope_key, key, purpose, ROW)
    assert len(wrapped) == 69 and wrapped[0] == content.WRAP_V2
    assert content.envelope_of(wrapped) == 123456789
    assert content.unwrap_key(envelope_key, wrapped, purpose, ROW) == key
    with pytest.raises(CannotOpen):
        content.unwrap_key(envelope_key, wrapped, "cases.casenote.item_key", ROW)
    with pytest.raises(CannotOpen):
        content.unwrap_key(envelope_key, wrapped, purpose, "GL-ZZ99-ZZ99")


def test_a_version_1_wrapped_key_as_documented_still_opens():
    envelope_key, key, nonce = content.new_key(), content.new_key(), bytes(12)
    aad = b"tropa/wrapped-key/v1|intake.helprequest.content_key"
    wrapped = (
        bytes([0x01]) + (7).to_bytes(8, "big") + nonce
        + ChaCha20Poly1305(envelope_key).encrypt(nonce, key, aad)
    )  # fmt: skip
    assert content.envelope_of(wrapped) == 7 and not content.is_bound(wrapped)
    assert content.unwrap_key(envelope_key, wrapped, "intake.helprequest.content_key", ROW) == key


def test_hpke_seals_to_a_public_key_and_binds_the_info():
    pair = content.new_key_pair()
    sealed = content.seal_to(pair.public, b"k" * 32, "tropa/envelope/v1|1")
    assert len(sealed) == 32 + 32 + 16
    assert content.open_sealed(pair.private, sealed, "tropa/envelope/v1|1") == b"k" * 32
    with pytest.raises(CannotOpen):
        content.open_sealed(pair.private, sealed, "tropa/envelope/v1|2")
    with pytest.raises(CannotOpen):
        content.open_sealed(content.new_key_pair().private, sealed, "tropa/envelope/v1|1")


def test_a_caseworker_key_opens_with_the_password_only():
    pair = content.new_key_pair()
    salt, wrapped = content.wrap_under_password(pair.private, "correct horse", 7, CHEAP)
    assert content.unwrap_under_password(wrapped, "correct horse", salt, CHEAP, 7) == pair.private
    with pytest.raises(CannotOpen):
        content.unwrap_under_password(wrapped, "wrong horse", salt, CHEAP, 7)
    with pytest.raises(CannotOpen):
        # Bound to the account: another user's row cannot be swapped in.
        content.unwrap_under_password(wrapped, "correct horse", salt, CHEAP, 8)


def test_the_requester_key_comes_from_the_code_alone():
    one = content.requester_key_pair("K3M9", "Q9TXABCDEFGHJKMN")
    again = content.requester_key_pair("K3M9", "Q9TXABCDEFGHJKMN")
    other = content.requester_key_pair("K3M9", "Q9TXABCDEFGHJKMP")
    assert one.public == again.public and one.private == again.private
    assert other.public != one.public


def test_a_recovery_key_survives_being_written_down():
    secret = content.new_recovery_secret()
    text = content.format_recovery_key(secret)
    assert text.startswith("TROPA-RK1-")
    retyped = " ".join(text.lower().split("-"))
    assert content.parse_recovery_key(retyped) == secret
    with pytest.raises(CannotOpen):
        content.parse_recovery_key("TROPA-RK1-AAAA")
    with pytest.raises(CannotOpen):
        content.parse_recovery_key("hello")


def test_the_session_copy_needs_the_cookie_key_and_the_user():
    keys = {1: content.new_key(), 2: content.new_key()}
    session_key = content.new_key()
    sealed = content.seal_session(session_key, keys, user_id=5)
    assert content.open_session(session_key, sealed, 5) == keys
    with pytest.raises(CannotOpen):
        content.open_session(content.new_key(), sealed, 5)
    with pytest.raises(CannotOpen):
        content.open_session(session_key, sealed, 6)
    cookie = content.encode_cookie_key(session_key)
    assert content.decode_cookie_key(cookie) == session_key
    assert content.decode_cookie_key("not a key") is None


def test_fingerprints_depend_on_the_organisation_key():
    one, two = content.new_key_pair(), content.new_key_pair()
    fk_one, fk_two = content.fingerprint_key(one.private), content.fingerprint_key(two.private)
    assert content.fingerprint(fk_one, "tel:79001234567") == content.fingerprint(
        content.fingerprint_key(one.private), "tel:79001234567"
    )
    assert content.fingerprint(fk_one, "tel:79001234567") != content.fingerprint(
        fk_two, "tel:79001234567"
    )


def test_a_safety_code_is_short_and_follows_the_key():
    pair = content.new_key_pair()
    code = content.safety_code(pair.public)
    assert len(code.replace(" ", "")) == 16
    assert code != content.safety_code(content.new_key_pair().public)


# --- nonces: never repeated under one key ---------------------------------------------


def value_nonce(sealed: bytes) -> bytes:
    return bytes(sealed)[1 : 1 + content.NONCE_BYTES]


def wrap_nonce(wrapped: bytes) -> bytes:
    return bytes(wrapped)[9 : 9 + content.NONCE_BYTES]


def test_sealing_the_same_text_twice_under_one_key_gives_two_ciphertexts():
    key = content.new_key()
    first = content.seal_text(key, "the same words", "intake.helprequest.narrative", "GL-1")
    second = content.seal_text(key, "the same words", "intake.helprequest.narrative", "GL-1")

    assert first != second
    assert value_nonce(first) != value_nonce(second)


def test_wrapping_the_same_key_twice_under_one_envelope_gives_two_ciphertexts():
    envelope_key, key = content.new_key(), content.new_key()
    first = content.wrap_key(7, envelope_key, key, "intake.helprequest.content_key", "GL-1")
    second = content.wrap_key(7, envelope_key, key, "intake.helprequest.content_key", "GL-1")

    assert first != second
    assert wrap_nonce(first) != wrap_nonce(second)


def test_no_nonce_repeats_across_a_batch_under_one_cipher_object():
    sealer = content.ValueSealer(content.new_key())
    wrapper = content.KeyWrapper(7, content.new_key())
    key = content.new_key()

    values = [sealer.seal_text("same", "f", "GL-1") for _ in range(2000)]
    wrapped = [wrapper.wrap(key, "p", "GL-1") for _ in range(2000)]

    assert len({value_nonce(v) for v in values}) == 2000
    assert len({wrap_nonce(w) for w in wrapped}) == 2000
    assert b"\0" * content.NONCE_BYTES not in {value_nonce(v) for v in values}


def test_other_keys_sealed_under_one_key_never_share_a_nonce():
    """The session copy and the caseworker's key under a password use the same
    primitive: the same input twice gives different ciphertexts."""
    session_key, keys = content.new_key(), {1: content.new_key()}
    assert content.seal_session(session_key, keys, 5) != content.seal_session(session_key, keys, 5)
    private = content.new_key_pair().private
    assert (
        content.wrap_under_password(private, "pw", 5, CHEAP)[1][1:13]
        != (content.wrap_under_password(private, "pw", 5, CHEAP)[1][1:13])
    )


@pytest.mark.django_db
def test_an_import_never_repeats_a_nonce_in_its_stored_values_or_keys(tmp_path):
    """A batch through the app: every stored value and wrapped key has its own nonce."""
    import io

    from django.core.management import call_command

    from intake.models import HelpRequest
    from tests.csvdata import csv_row, write_csv

    rows = [csv_row(n, narrative="the very same story", contact="@same") for n in range(60)]
    call_command("import_requests", str(write_csv(tmp_path / "a.csv", rows)), stdout=io.StringIO())

    stored = list(HelpRequest.objects.values_list("narrative", "contact", "content_key"))
    nonces = [value_nonce(n) for n, _, _ in stored] + [value_nonce(c) for _, c, _ in stored]
    key_nonces = [wrap_nonce(k) for _, _, k in stored]
    assert len(stored) == 60
    assert len(set(nonces)) == 120
    assert len(set(key_nonces)) == 60
