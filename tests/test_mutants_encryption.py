"""
Mistakes in encryption/ that mutation testing (dev.py mutants) showed no test
would notice, each replayed through the module's public functions.
"""

import pytest

from encryption.chats import chat_handle, open_for_chat, seal_for_chat

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
