"""
Sealing a message between a requester and the caseworkers, whichever way it
goes: to the organisation (caseworkers read it) and, once the requester's key
is known, to the requester (their receipt code reads it at /status/).
"""

from encryption.sealing import Envelope, seal_item
from intake.models import RequestMessage


def seal_message(message: RequestMessage, body: str) -> Envelope:
    """Seal the body into `message`; returns the envelope to store before it."""
    return seal_item(
        message,
        "body",
        body,
        sealed_to=bytes(message.request.requester_public_key or b""),
        sealed_key_field="requester_key",
    )
