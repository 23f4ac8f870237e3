"""
Human-friendly, random, non-sequential request references such as GL-7K3M-Q9TX,
and the search key that finds any stored reference, ours or an imported one in
another system's format (HX-0019991), however a person types it.
"""

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


# What a search key drops: separators of every kind, including those imported
# references may carry (intake.importing allows . _ : / -).
_KEY_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.…:/]+")
KEY_ALPHABET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def reference_key(text: str) -> str | None:
    """
    The search key of a reference: upper case, without separators, Cyrillic
    lookalikes read as Latin letters, I and L read as 1 and O as 0 (Crockford's
    rules, applied to stored and typed text alike, so HX-OLD-1 is found as
    "hx 0ld1" too). None when the text cannot be a reference at all (any other
    character), so a name or a phone number with a "+" never becomes one.
    """
    compact = _KEY_SEPARATORS.sub("", text or "").upper().translate(_LOOKALIKES)
    if not compact or len(compact) > 64 or any(ch not in KEY_ALPHABET for ch in compact):
        return None
    # Our prefix keeps its L.
    head = PREFIX if compact.startswith(PREFIX) else ""
    return head + compact[len(head) :].translate(_CROCKFORD)


def key_candidates(text: str) -> list[str]:
    """The search keys typed text may stand for: itself, and with our GL prefix
    when it was left out ("xp3d q9tx" for GL-XP3D-Q9TX)."""
    key = reference_key(text)
    if key is None:
        return []
    return [key] if key.startswith(PREFIX) else [key, PREFIX + key]


class ReferenceConverter:
    """
    A stored reference as one segment of a URL path. Ours never hold "/", but an
    imported one may (intake.importing allows . _ : / -), and a path segment
    cannot: it travels as "~", which no reference holds. A stored reference is
    never rewritten for this, since sealed content is bound to it
    (docs/encryption.md).
    """

    regex = r"[A-Za-z0-9._:~-]{1,64}"

    def to_python(self, value: str) -> str:
        return value.replace("~", "/")

    def to_url(self, value: str) -> str:
        if "~" in value:
            raise ValueError("a reference never holds ~")
        return value.replace("/", "~")
