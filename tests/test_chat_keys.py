"""encryption.chats: a chat is recognised and its state opened only with its own chat id."""

from encryption.chats import chat_handle, open_for_chat, seal_for_chat

CHAT, OTHER = 5519273648, 5519273649


def test_a_handle_is_stable_and_names_nothing():
    handle = chat_handle(CHAT)

    assert handle == chat_handle(CHAT)
    assert str(CHAT) not in handle and len(handle) == 32
    assert handle != chat_handle(OTHER)
    assert chat_handle(CHAT, "update", 1) != chat_handle(CHAT, "update", 2) != handle


def test_a_handle_depends_on_the_encryption_key(settings):
    before = chat_handle(CHAT)
    settings.ENCRYPTION_KEY = "another-encryption-key-of-enough-length-000"

    assert chat_handle(CHAT) != before


def test_only_the_same_chat_opens_what_was_sealed_for_it():
    sealed = seal_for_chat(CHAT, "Нас отправляют на штурм".encode())

    assert open_for_chat(CHAT, sealed) == "Нас отправляют на штурм".encode()
    assert open_for_chat(OTHER, sealed) is None
    assert "штурм".encode() not in sealed


def test_a_damaged_or_foreign_value_opens_to_nothing():
    sealed = seal_for_chat(CHAT, b"answers")

    assert open_for_chat(CHAT, sealed[:-1] + bytes([sealed[-1] ^ 1])) is None
    assert open_for_chat(CHAT, b"short") is None
    assert open_for_chat(CHAT, "not bytes") is None


def test_sealing_twice_gives_different_values():
    assert seal_for_chat(CHAT, b"same") != seal_for_chat(CHAT, b"same")


def test_a_key_rotation_leaves_old_state_unopened(settings):
    sealed = seal_for_chat(CHAT, b"answers")
    settings.ENCRYPTION_KEY = "another-encryption-key-of-enough-length-000"

    assert open_for_chat(CHAT, sealed) is None
