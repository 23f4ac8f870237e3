"""
Padding of plaintext before encryption, so a ciphertext's length tells little
about the length of what was written (a contact's, a narrative's).

Format, version 1: the byte 0xFF (which valid UTF-8 never contains, so a value
stored before padding existed, plain UTF-8, is told apart by its first byte),
the version byte 0x01, the length of the text as 4 bytes big-endian, the
UTF-8 text, and zero bytes up to the bucket size.

Bucket sizes (the whole padded plaintext, in bytes): 64, 128, 256, 512, 1024,
2048, 4096, 8192, 16384, 32768, 65536, then multiples of 65536. So every
contact, alias and short message up to 58 bytes of UTF-8 looks the same; a
narrative of 1,100 Cyrillic characters (about 2,200 bytes) and one of 2,000
(about 4,000) look the same (4096); the form's longest narrative, 10,000
Cyrillic characters, fits 32768. Powers of two cost at most twice the space.
Fernet adds its own fixed overhead and rounds to 16 bytes, which reveals
nothing more.
"""

MARKER = 0xFF
VERSION = 1
HEADER = 6  # marker, version, 4 bytes of length
BUCKETS = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
LARGE_STEP = 65536


class BadPadding(ValueError):
    """A padded value whose header does not make sense (never shows the value)."""


def bucket(size: int) -> int:
    """The smallest bucket that holds `size` bytes (header included)."""
    for candidate in BUCKETS:
        if size <= candidate:
            return candidate
    return -(-size // LARGE_STEP) * LARGE_STEP


def pad(data: bytes) -> bytes:
    total = bucket(HEADER + len(data))
    header = bytes([MARKER, VERSION]) + len(data).to_bytes(4, "big")
    return header + data + bytes(total - HEADER - len(data))


def is_padded(plaintext: bytes) -> bool:
    return plaintext[:1] == bytes([MARKER])


def unpad(plaintext: bytes) -> bytes:
    """The data inside a padded plaintext; a plaintext from before padding
    (plain UTF-8, never starting with 0xFF) is returned as it is."""
    if not is_padded(plaintext):
        return plaintext
    if len(plaintext) < HEADER or plaintext[1] != VERSION:
        raise BadPadding("an encrypted value has an unknown padding format")
    length = int.from_bytes(plaintext[2:HEADER], "big")
    if HEADER + length > len(plaintext):
        raise BadPadding("an encrypted value's padding header is longer than the value")
    return plaintext[HEADER : HEADER + length]
