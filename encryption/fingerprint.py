"""
Keyed fingerprints of contact handles.

A repeat requester is recognised by comparing HMACs of the normalised contact,
so the contact never has to be stored or indexed in clear. The HMAC key is
derived from ENCRYPTION_KEY: without the key, a fingerprint cannot be tested
against a guessed phone number or handle.
"""

import hashlib
import hmac
import re
import unicodedata

from encryption.keys import key_materials

_PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me/|telegram\.me/|wa\.me/)", re.I)


def normalise_contact(contact: str) -> str:
    """Reduce the ways people write the same handle or number to one form.
    Invisible format characters (zero-width spaces and joiners, bidi controls:
    Unicode category Cf) go first, so they cannot make a returning requester
    look new."""
    value = contact or ""
    if not value.isascii():
        value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
        value = unicodedata.normalize("NFKC", value)
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


def _fingerprint(key: bytes, normalised: str) -> str:
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def contact_fingerprint(contact: str) -> str:
    """The fingerprint under the current key, or "" for an empty contact."""
    normalised = normalise_contact(contact)
    if not normalised:
        return ""
    return _fingerprint(key_materials()[0].fingerprint, normalised)


def contact_fingerprints(contact: str) -> list[str]:
    """Fingerprints under every configured key: matches survive a key rotation."""
    normalised = normalise_contact(contact)
    if not normalised:
        return []
    return [_fingerprint(material.fingerprint, normalised) for material in key_materials()]
