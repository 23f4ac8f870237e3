"""
Receipt codes: how a requester follows up without an account.

A code is 20 characters of Crockford base32 (100 random bits), shown as five
groups of four: K3M9-Q9TX-.... The first four characters find the request
(they are stored, like a username); the other sixteen (80 bits) are the secret,
stored only as a salted scrypt hash. The code itself is never stored or logged.

80 random bits cannot be guessed even against a fast hash; scrypt is there so
that a stolen table still costs its thief real work per candidate.
"""

import base64
import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
SELECTOR_LENGTH = 4
GROUP = 4
# scrypt cost: 16 MiB and about 30 ms per check on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# Crockford's reading of look-alike characters.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DUMMY = "scrypt$16384$8$1$" + "A" * 22 + "$" + "A" * 43


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def formatted(code: str) -> str:
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str) -> str | None:
    """The code as stored characters, forgiving case, spaces, dashes and
    look-alikes; None if it cannot be a code at all."""
    code = "".join(ch for ch in (typed or "").upper() if ch not in " -\t\r\n")
    code = code.translate(_LOOKALIKES)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def split(code: str) -> tuple[str, str]:
    return code[:SELECTOR_LENGTH], code[SELECTOR_LENGTH:]


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        name, n, r, p, salt, digest = stored.split("$")
        if name != "scrypt":
            return False
        candidate = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, _unb64(digest))


def waste_equal_time() -> None:
    """The cost of one check, for codes that match no request: a wrong code
    takes as long whatever is wrong with it."""
    verify_secret("0" * (LENGTH - SELECTOR_LENGTH), _DUMMY)
