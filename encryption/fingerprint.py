"""
Keyed fingerprints of contact handles.

A repeat requester is recognised by comparing HMACs of the normalised contact,
so the contact never has to be stored or indexed in clear. The HMAC key is
derived from the organisation private key (docs/encryption.md, Fingerprints),
which only a caseworker's unlocked session holds: with the database, the code
and every server key, a guessed phone number still cannot be tested. A
fingerprint names the organisation key it was made with ("k<id>:<hex>"), so
during a rotation of that key both kinds are recognised.
"""

import re
import unicodedata

from encryption import content
from encryption.access import ContentKeys

_PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me/|telegram\.me/|wa\.me/)", re.I)


# Letters that draw nothing (Hangul fillers, the blank Braille pattern): the
# staff pages mark them too (core/templatetags/user_text.py).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Dropped before a contact is compared: invisible format characters, line and
# paragraph separators, and combining marks left over after NFKC (no handle,
# number or address holds one; stacked, they only disguise).
_DROPPED = frozenset({"Cf", "Zl", "Zp", "Mn", "Me"})


def normalise_contact(contact: str) -> str:
    """Reduce the ways people write the same handle or number to one form.
    Invisible characters (zero-width spaces and joiners, bidi controls, blank
    letters) and stray combining marks go, after NFKC, so they cannot make a
    returning requester look new."""
    value = contact or ""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
        value = "".join(
            ch
            for ch in value
            if ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _DROPPED
        )
    value = value.strip().casefold()
    if not value:
        return ""
    if _PHONE.match(value):
        digits = re.sub(r"\D", "", value)
        # Russian numbers are written both as 8XXXXXXXXXX and +7XXXXXXXXXX.
        if len(digits) == 11 and digits.startswith("8"):
            digits = "7" + digits[1:]
        return "tel:" + digits
    value = _URL_PREFIX.sub("", value)
    return re.sub(r"\s+", "", value).lstrip("@")


def _under(key_id: int, fingerprint_key: bytes, normalised: str) -> str:
    return f"k{key_id}:{content.fingerprint(fingerprint_key, normalised)}"


def fingerprints_for(keys: ContentKeys, contact: str) -> list[str]:
    """The contact's fingerprints under every organisation key the session holds."""
    normalised = normalise_contact(contact)
    if not normalised:
        return []
    return [_under(key_id, fk, normalised) for key_id, fk in keys.fingerprint_keys().items()]


def current_fingerprint(keys: ContentKeys, contact: str) -> str:
    """
    The fingerprint to store: under the active organisation key, if the session
    holds it; "" for an empty contact or a session without that key.
    """
    normalised = normalise_contact(contact)
    key_id = keys.active_key_id() if normalised else None
    if key_id is None:
        return ""
    return _under(key_id, content.fingerprint_key(keys.private_key(key_id)), normalised)


def is_current(fingerprint: str, keys: ContentKeys) -> bool:
    """Whether a stored fingerprint was made with the active organisation key."""
    key_id = keys.active_key_id()
    return key_id is not None and fingerprint.startswith(f"k{key_id}:")
