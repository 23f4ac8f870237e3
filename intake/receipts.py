"""
Receipt codes: how a requester follows up without an account.

A code is 20 characters of Crockford base32 (100 random bits), shown as five
groups of four: K3M9-Q9TX-.... The first four characters find the request
(they are stored, like a username); the other sixteen (80 bits) are the secret.
The code itself is never stored or logged.

What is stored is an HMAC-SHA256 of the code under a random server key
(encryption.server_secrets, "receipt-hmac"), which the database holds only
encrypted under ENCRYPTION_KEY. 80 random bits cannot be guessed, so a slow
hash would add no protection, only ~30 ms of CPU to every submission and
lookup; and without the server key a stolen table cannot test a single guess.
The key is not derived from ENCRYPTION_KEY, so rotating that key (which cannot
rehash codes it never sees) leaves every code working. Nothing stored lets
anyone derive something from the secret itself: the HMAC is one-way and keyed.

Hashes written before this change are salted scrypt ("scrypt$..."). They still
verify, and the first lookup that opens one replaces it with the HMAC form
(`intake.services.find_by_receipt`); those never opened again go when the
retention purge erases their request's receipt hash.
"""

import base64
import hashlib
import hmac
import secrets

from encryption.server_secrets import server_hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
SELECTOR_LENGTH = 4
GROUP = 4
# What a person might type around a code (spaces, dashes); anything longer is
# not a code, and is refused before it is even read.
MAX_TYPED = 64
SERVER_KEY = "receipt-hmac"
KEYED = "hmac-sha256$"
LEGACY = "scrypt$"
# Any well-formed code: hashed in place of a malformed one, so that every
# lookup costs one keyed hash whatever was typed.
PLACEHOLDER = "0" * LENGTH
# The legacy hash of a code that matches nothing, checked in place of a
# missing candidate (same cost parameters as every stored legacy hash).
_LEGACY_DUMMY = "scrypt$16384$8$1$" + "A" * 22 + "$" + "A" * 43
# Crockford's reading of look-alike characters, and the Cyrillic letters a
# person on a Russian keyboard types for the Latin ones they see on paper
# (А В С Е Н К М Р Т Х У, О and З for the digits they resemble, Ukrainian І).
# Applied after upper-casing, so lower-case Cyrillic folds too.
_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "I": "1",
        "L": "1",
        "А": "A",
        "В": "B",
        "С": "C",
        "Е": "E",
        "Н": "H",
        "К": "K",
        "М": "M",
        "Р": "P",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "О": "0",
        "З": "3",
        "І": "1",
    }
)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


# The secret a bot's retried request gets its code again from (intake.api).
RETRY_KEY = "receipt-retry"


def code_for_retry(bot_id: int, idempotency_key: str) -> str:
    """
    The receipt code of a bot's request sent with this Idempotency-Key: made
    again, not stored, when the bot retries. It comes from a server secret and
    the key, which is never stored either (only `retry_index` of it), so the
    database, even with that secret, gives no code back without the key.
    """
    material = server_hmac(RETRY_KEY, f"code:{bot_id}:{idempotency_key}".encode())
    number = int.from_bytes(material[:13], "big") >> (13 * 8 - 5 * LENGTH)
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def retry_index(bot_id: int, idempotency_key: str) -> str:
    """What is stored to find a retried request: a keyed hash of the key."""
    return server_hmac(RETRY_KEY, f"index:{bot_id}:{idempotency_key}".encode()).hex()


def formatted(code: str) -> str:
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str) -> str | None:
    """The code as stored characters, forgiving case, spaces, dashes and
    look-alikes (Cyrillic ones included: a code copied from paper on a Russian
    keyboard opens its request); None if it cannot be a code at all."""
    if not typed or len(typed) > MAX_TYPED:
        return None
    code = "".join(ch for ch in typed.upper() if ch not in " -\t\r\n")
    code = code.translate(_LOOKALIKES)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def split(code: str) -> tuple[str, str]:
    return code[:SELECTOR_LENGTH], code[SELECTOR_LENGTH:]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(code: str) -> bytes:
    """The keyed hash of a whole (normalised) code: one per lookup."""
    return server_hmac(SERVER_KEY, f"receipt:v1:{code}".encode("ascii"))


def hash_code(code: str) -> str:
    """What is stored for a new code."""
    return KEYED + _b64(digest(code))


def is_legacy(stored: str) -> bool:
    return stored.startswith(LEGACY)


def matches_digest(code_digest: bytes, stored: str) -> bool:
    """Whether a keyed hash is the one stored (False for legacy hashes)."""
    if not stored.startswith(KEYED):
        return False
    return hmac.compare_digest(code_digest, _unb64(stored[len(KEYED) :]))


def matches_legacy(secret: str, stored: str) -> bool:
    """Whether the secret part of a code opens a legacy scrypt hash."""
    try:
        name, n, r, p, salt, expected = stored.split("$")
        if name != LEGACY.rstrip("$"):
            return False
        candidate = hashlib.scrypt(
            secret.encode("ascii"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, _unb64(expected))


def waste_legacy_check() -> None:
    """The cost of one legacy check, where there is no legacy candidate to check."""
    matches_legacy("0" * (LENGTH - SELECTOR_LENGTH), _LEGACY_DUMMY)


def opens(code: str, stored: str) -> bool:
    """Whether this code opens this stored hash, in either format (for checks
    outside the lookup path, such as the load test's)."""
    if is_legacy(stored):
        return matches_legacy(split(code)[1], stored)
    return matches_digest(digest(code), stored)
