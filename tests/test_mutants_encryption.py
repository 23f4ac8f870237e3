"""
Mistakes in encryption/ that mutation testing (dev.py mutants) showed no test
would notice, each replayed through the module's public functions.
"""

import base64
import dataclasses
import secrets
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models.signals import pre_save

from encryption import content
from encryption.access import ContentKeys
from encryption.chats import chat_handle, open_for_chat, seal_for_chat
from encryption.content import CannotOpen
from encryption.digests import secret_digest, secret_digests
from encryption.fingerprint import current_fingerprint, is_current, normalise_contact
from encryption.keys import derive_key_material
from encryption.models import ServerSecret, new_envelope_id
from encryption.server_secrets import server_secret
from encryption.session import (
    COOKIE_NAME,
    SESSION_ENTRY,
    forget,
    holds_keys,
    keep_for_session,
    keys_for,
)
from tests.content_keys import opened, organisation_keys
from tests.test_content_key_commands import OLD_NARRATIVE, unsealed  # noqa: F401 - a fixture

# Values sealed by this release under a fixed key: a stored value must open
# after any upgrade, so the layout (12-byte nonce, then ciphertext and tag) is
# part of the contract.
CHAT_KEY = "mutants-test-key-" + "k" * 40
CHAT_ID = 424242
SEALED_CHAT_VALUE = bytes.fromhex(
    "154c4882ff6b4b9983eace755c9bf59acb8b04456e39e7c81758316b65f74b50e9501c57ceff10ddd736509646"
)


@pytest.fixture
def chat_key(settings):
    settings.ENCRYPTION_KEY = CHAT_KEY


def test_a_chat_value_sealed_by_this_release_still_opens(chat_key):
    assert open_for_chat(CHAT_ID, SEALED_CHAT_VALUE) == b"dialogue state v1"
    assert chat_handle(CHAT_ID) == "a480fd1f483fea3c6c5bab839ed3cb2c"


def test_a_chat_value_is_a_12_byte_nonce_then_the_ciphertext_and_its_tag(chat_key):
    sealed = seal_for_chat(CHAT_ID, b"dialogue state v1")

    assert len(sealed) == 12 + len(b"dialogue state v1") + 16
    assert open_for_chat(CHAT_ID, sealed) == b"dialogue state v1"
    assert open_for_chat(CHAT_ID + 1, sealed) is None


def test_a_secret_digest_is_stored_under_the_current_key_while_old_ones_are_read(settings):
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = "new-key-" + "n" * 40, []
    under_the_new_key_alone = secret_digest("backup-code", "user:1", "4711-0815")
    settings.ENCRYPTION_OLD_KEYS = ["old-key-" + "o" * 40]

    stored = secret_digest("backup-code", "user:1", "4711-0815")
    looked_up = secret_digests("backup-code", "user:1", "4711-0815")

    assert stored == under_the_new_key_alone  # still right once the old key is dropped
    assert looked_up[0] == stored and len(looked_up) == 2 and looked_up[1] != stored


@pytest.mark.django_db(transaction=True)
def test_when_another_process_creates_a_server_secret_first_everyone_uses_theirs():
    """Replays the race of two first uses on SQLite: just before this process
    stores its new secret, another connection stores and commits its own."""
    theirs = base64.urlsafe_b64encode(b"t" * 32).decode("ascii")

    def create_theirs(name: str) -> None:
        ServerSecret.objects.create(name=name, value=theirs)
        connection.close()

    def the_other_process_first(sender, instance, **kwargs):
        if instance.value != theirs:
            other = threading.Thread(target=create_theirs, args=(instance.name,))
            other.start()
            other.join()

    pre_save.connect(the_other_process_first, sender=ServerSecret)
    try:
        assert server_secret("race-test") == b"t" * 32
    finally:
        pre_save.disconnect(the_other_process_first, sender=ServerSecret)
    assert ServerSecret.objects.filter(name="race-test").count() == 1
    assert server_secret("race-test") == b"t" * 32


def test_derived_key_material_never_shows_itself_and_cannot_be_changed():
    material = derive_key_material("a-secret-" + "s" * 40)

    assert material.cipher.hex() not in repr(material)
    assert repr(material.cipher) not in repr(material) and "cipher=" not in repr(material)
    with pytest.raises(dataclasses.FrozenInstanceError):
        material.cipher = b"\0" * 32


def test_envelope_ids_are_drawn_from_62_bits_so_worker_processes_never_collide():
    ids = {new_envelope_id() for _ in range(200)}

    assert len(ids) == 200
    assert all(1 <= envelope <= 2**62 for envelope in ids)
    assert max(ids) > 2**56  # not a small range: 200 draws below it are a 1 in 2**1200 chance


@pytest.mark.parametrize("draw", ["lowest", "highest"])
def test_envelope_ids_run_from_1_to_2_to_the_62(monkeypatch, draw):
    """The two ends of the range, drawn on purpose: positive (0 may read as "no
    envelope"), and within a signed 64-bit column with room to spare."""
    bounds = []

    def drawn(bound: int) -> int:
        bounds.append(bound)
        return 0 if draw == "lowest" else bound - 1

    monkeypatch.setattr(secrets, "randbelow", drawn)

    assert new_envelope_id() == (1 if draw == "lowest" else 2**62)
    assert bounds == [2**62]


@pytest.mark.django_db
def test_a_session_past_its_password_but_not_its_second_factor_opens_no_keys(rf):
    user = get_user_model().objects.create_user("half-signed-in", password="x" * 20)
    first = rf.get("/")
    first.session, first.user = SessionStore(), user
    keep_for_session(first, user, {1: content.new_key()})
    cookie = first._content_cookie

    def later_request(verified: bool):
        request = rf.get("/")
        request.session, request.user = first.session, user
        request.COOKIES[COOKIE_NAME] = cookie
        user.is_verified = lambda: verified  # what django-otp's middleware says
        return request

    assert keys_for(later_request(verified=True)).key_ids == [1]
    assert not keys_for(later_request(verified=False))


@pytest.mark.django_db
def test_keys_need_a_signed_in_user_and_both_halves(rf):
    user = get_user_model().objects.create_user("both-halves", password="x" * 20)
    first = rf.get("/")
    first.session, first.user = SessionStore(), user
    keep_for_session(first, user, {1: content.new_key()})
    cookie = first._content_cookie

    nobody, anonymous = rf.get("/"), rf.get("/")
    anonymous.user = AnonymousUser()
    for request in (nobody, anonymous):
        request.session = first.session
        request.COOKIES[COOKIE_NAME] = cookie
        assert not keys_for(request)

    session_only, cookie_only = rf.get("/"), rf.get("/")
    session_only.session = first.session
    cookie_only.session = SessionStore()
    cookie_only.COOKIES[COOKIE_NAME] = cookie
    assert holds_keys(first) is False  # the cookie is only on its way to the browser
    assert not holds_keys(session_only) and not holds_keys(cookie_only)
    session_only.COOKIES[COOKIE_NAME] = cookie
    assert holds_keys(session_only)


@pytest.mark.django_db
def test_forgetting_drops_the_sealed_keys_from_the_session(rf):
    user = get_user_model().objects.create_user("forgets", password="x" * 20)
    request = rf.get("/")
    request.session, request.user = SessionStore(), user
    keep_for_session(request, user, {1: content.new_key()})
    assert SESSION_ENTRY in request.session

    forget(request)

    assert SESSION_ENTRY not in request.session
    assert request._content_cookie == ""  # the middleware deletes the cookie
    forget(rf.get("/"))  # a request without a session: nothing to drop, no error


def test_only_russian_numbers_written_with_8_become_plus_7():
    assert normalise_contact("8 915 123-45-67") == normalise_contact("+7 915 123 45 67")
    assert normalise_contact("8 915 123-45-67") == "tel:79151234567"
    assert normalise_contact("+1 415 555 0123") == "tel:14155550123"  # 11 digits, not Russian
    assert normalise_contact("8 800 555 353") == "tel:8800555353"  # starts with 8, only 10


@pytest.mark.django_db
def test_a_fingerprint_is_current_only_under_the_active_key_the_session_holds():
    keys = organisation_keys()
    active = keys.active_key_id()
    stored = current_fingerprint(keys, "@returning_requester")
    under_another_key = f"k{active + 1}:" + stored.partition(":")[2]

    assert stored.startswith(f"k{active}:") and is_current(stored, keys)
    assert not is_current(under_another_key, keys)
    assert not is_current(stored, ContentKeys({}))  # a session without the key


@pytest.mark.django_db
def test_a_session_without_the_active_key_has_none_to_seal_under():
    keys = organisation_keys()
    retired_only = ContentKeys({keys.active_key_id() + 1: content.new_key()})

    assert retired_only.active_key_id() is None
    assert current_fingerprint(retired_only, "@someone") == ""
    with pytest.raises(CannotOpen):
        retired_only.private_key(keys.active_key_id())


def test_content_stored_before_content_keys_opens_as_its_text_and_erased_content_as_nothing(
    unsealed,  # noqa: F811 - the fixture imported above
):
    help_request, _ = unsealed

    assert opened(help_request, "narrative", "precise_location") == {
        "narrative": OLD_NARRATIVE,
        "precise_location": "",
    }


def cache_lifetime(name: str) -> float:
    """Seconds until the cache forgets `name`, on whichever cache the run has."""
    import time

    from django.core.cache import cache

    key = cache.make_and_validate_key(name)
    if hasattr(cache, "_expire_info"):  # the local-memory cache (no REDIS_URL)
        return cache._expire_info[key] - time.time()
    return cache._cache.get_client(key).ttl(key)  # Redis


def test_a_flood_key_is_one_32_byte_key_kept_two_hours_past_its_last_use():
    """docs/encryption.md: each use keeps a flood's digest key for two more hours,
    and copies of one text in one flood share a digest."""
    from django.core.cache import cache

    from encryption.digests import flood_digest

    first = flood_digest(7, "the same text")

    assert flood_digest(7, "the same text") == first
    assert flood_digest(8, "the same text") != first
    key = cache.get("flood-digest-key:7")
    assert isinstance(key, bytes) and len(key) == 32
    assert 2 * 3600 - 1 <= cache_lifetime("flood-digest-key:7") <= 2 * 3600
