"""
Sealed objects: large values (an attachment's clean image, its thumbnail)
sealed in fixed-size chunks, the "object v1" format of docs/encryption.md.

A text value is sealed in one piece (encryption.content.seal_text); an image of
ten megabytes is not: one AEAD call over it would need it whole in memory
twice, and a format with chunks lets a reader check each piece as it comes.
Every chunk is sealed under the same key with its own random nonce, and its
associated data names the chunk's index and whether it is the last, so that
chunks cannot be reordered, dropped, repeated or cut off at the end; and the
purpose and the row (the request's reference and the attachment's uid), so
that an object copied onto another attachment or request does not open there.

The plaintext is padded before it is cut into chunks (`bucket`), so an
object's size tells only which size bucket its image falls in.
"""

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from encryption.content import NONCE_BYTES, CannotOpen

OBJECT_V1 = 0xC2  # first byte of a sealed object (never starts UTF-8 either)
CHUNK = 64 * 1024  # plaintext bytes per chunk; every chunk of a padded object is full
TAG = 16
SEALED_CHUNK = NONCE_BYTES + CHUNK + TAG
HEADER = 8  # the padded plaintext starts with the data's length (8 bytes, big-endian)
GROWTH = 1.25  # each size bucket is at least this much larger than the one before


def bucket(size: int) -> int:
    """
    The padded size of `size` bytes of data (with its length header): the
    smallest of 64 KiB, then steps of at least 1.25× rounded up to whole 64 KiB
    chunks (64, 128, 192, 256, 320, 448, 576, 768, 960, 1216 KiB, … about 28
    buckets up to 32 MiB). 1.25× rather than powers of two: an image costs at
    most a quarter more space instead of twice, and its size still says only
    roughly how large a picture it is (which the picture shows anyway).
    """
    step = CHUNK
    while step < size:
        step = -(-int(step * GROWTH) // CHUNK) * CHUNK
    return step


def _aad(purpose: str, row: str, index: int, final: bool) -> bytes:
    # The fixed-length fields first, then the purpose (never holding "|"), then
    # the row as the tail: no way to shift one field's bytes into another.
    if "|" in purpose:
        raise ValueError("a purpose never holds |")
    head = b"tropa/object/v1|" + struct.pack(">QB", index, final)
    return head + purpose.encode("ascii") + b"|" + row.encode("utf-8")


def pad(data: bytes) -> bytes:
    total = bucket(HEADER + len(data))
    return len(data).to_bytes(HEADER, "big") + data + bytes(total - HEADER - len(data))


def seal_object(key: bytes, data: bytes, purpose: str, row: str) -> bytes:
    """`data` padded, cut into 64 KiB chunks, each sealed (ChaCha20-Poly1305) with
    its index and final flag, its purpose and row in the associated data."""
    aead = ChaCha20Poly1305(key)
    padded = memoryview(pad(data))
    count = len(padded) // CHUNK
    parts = [bytes([OBJECT_V1])]
    for index in range(count):
        nonce = os.urandom(NONCE_BYTES)
        chunk = padded[index * CHUNK : (index + 1) * CHUNK]
        aad = _aad(purpose, row, index, index == count - 1)
        parts.append(nonce + aead.encrypt(nonce, bytes(chunk), aad))
    return b"".join(parts)


def open_object(key: bytes, sealed: bytes, purpose: str, row: str) -> bytes:
    """The data of a sealed object; CannotOpen for a wrong key, row or purpose, and
    for chunks that were changed, reordered, dropped, added or cut off."""
    if sealed[:1] != bytes([OBJECT_V1]):
        raise CannotOpen("not a sealed object")
    body = memoryview(sealed)[1:]
    if not body or len(body) % SEALED_CHUNK:
        raise CannotOpen("a sealed object of a wrong length")
    count = len(body) // SEALED_CHUNK
    aead = ChaCha20Poly1305(key)
    plain = bytearray()
    for index in range(count):
        chunk = body[index * SEALED_CHUNK : (index + 1) * SEALED_CHUNK]
        aad = _aad(purpose, row, index, index == count - 1)
        try:
            plain += aead.decrypt(bytes(chunk[:NONCE_BYTES]), bytes(chunk[NONCE_BYTES:]), aad)
        except InvalidTag:
            raise CannotOpen("the key does not open this object") from None
    length = int.from_bytes(plain[:HEADER], "big")
    if HEADER + length > len(plain):
        raise CannotOpen("a sealed object with a damaged length")
    return bytes(plain[HEADER : HEADER + length])
