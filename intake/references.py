"""Human-friendly, random, non-sequential request references such as GL-7K3M-Q9TX."""

import secrets

# Crockford's base32: no I, L, O or U, so a reference read aloud or copied by
# hand cannot be confused.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "GL"


def new_reference() -> str:
    """40 random bits: sequence numbers would tell an outsider our volume."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}-{body[:4]}-{body[4:]}"
