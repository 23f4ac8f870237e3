"""Human-friendly, random, non-sequential request references such as GL-7K3M-Q9TX."""

import re
import secrets

# Crockford's base32: no I, L, O or U, so a reference read aloud or copied by
# hand cannot be confused.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "GL"


def new_reference() -> str:
    """40 random bits: sequence numbers would tell an outsider our volume."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}-{body[:4]}-{body[4:]}"


# Cyrillic capitals that look like Latin ones: a reference typed on a Russian
# keyboard layout, or read aloud and typed, still finds its case.
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХУ", "ABEKMHOPCTXY")
# Crockford's reading rules: I and L are 1, O is 0.
_CROCKFORD = str.maketrans("ILO", "110")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.…]+")
BODY_LENGTH = 8


def reference_prefix(text: str) -> str | None:
    """
    The beginning of a reference as it is stored ("GL-XP3D"), or the whole of it,
    from however a person typed it: any case, with or without dashes, spaces or
    the GL, Cyrillic lookalike letters, I or L for 1 and O for 0. None when the
    text cannot be the start of a reference.
    """
    compact = _SEPARATORS.sub("", text or "").upper().translate(_LOOKALIKES)
    if compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    compact = compact.translate(_CROCKFORD)
    if not compact or len(compact) > BODY_LENGTH or any(ch not in ALPHABET for ch in compact):
        return None
    body = compact[:4] + ("-" + compact[4:] if len(compact) > 4 else "")
    return f"{PREFIX}-{body}"


def prefix_length(prefix: str) -> int:
    """How many characters of the reference's body a prefix gives."""
    return len(prefix.replace("-", "")) - len(PREFIX)
