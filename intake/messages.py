"""
Sealing a message between a requester and the caseworkers, whichever way it
goes: to the organisation (caseworkers read it) and, once the requester's key
is known, to the requester (their receipt code reads it at /status/).
"""

from encryption.sealing import Envelope, seal_item_keyed
from intake.models import RequestMessage


def seal_message(message: RequestMessage, body: str) -> Envelope:
    """Seal the body into `message`; returns the envelope to store before it."""
    return seal_message_keyed(message, body)[0]


def seal_message_keyed(message: RequestMessage, body: str) -> tuple[Envelope, bytes]:
    """seal_message, also returning the message's key (its attachments are sealed under it)."""
    return seal_item_keyed(
        message,
        "body",
        body,
        sealed_to=bytes(message.request.requester_public_key or b""),
        sealed_key_field="requester_key",
    )
