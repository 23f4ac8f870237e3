"""
Sealing a message between a requester and the caseworkers, whichever way it
goes: to the organisation (caseworkers read it) and, once the requester's key
is known, to the requester (their receipt code reads it at /status/).

After a merge (cases.undo.merge_cases) one thread serves several requests:
it lives on the earliest one (its owner), and each of its messages is also
sealed to the requester of every request merged into it (MessageCopy), so
each receipt code reads the whole thread.
"""

from django.db.models import QuerySet

from encryption.sealing import Envelope, seal_item_keyed, seal_to_requester
from intake.models import HelpRequest, MessageCopy, RequestMessage


def thread_owner(help_request: HelpRequest) -> HelpRequest:
    """The request whose thread this request's messages go on: itself, or the
    earlier request it was merged into."""
    case = getattr(help_request, "case", None)
    if case is not None and case.merged_into_id is not None:
        return case.merged_into.request
    return help_request


def thread_requests(help_request: HelpRequest) -> list[HelpRequest]:
    """Every request sharing this request's thread: its owner first, then the
    requests merged into it, oldest first."""
    owner = thread_owner(help_request)
    merged = HelpRequest.objects.filter(case__merged_into__request=owner).order_by(
        "received_at", "pk"
    )
    return [owner, *merged]


def thread_messages(help_request: HelpRequest) -> QuerySet:
    """The messages of the whole thread this request shares."""
    return RequestMessage.objects.filter(request__in=[r.pk for r in thread_requests(help_request)])


def seal_message(message: RequestMessage, body: str) -> Envelope:
    """Seal the body into `message`; returns the envelope to store before it."""
    return seal_message_keyed(message, body)[0]


def seal_message_keyed(message: RequestMessage, body: str) -> tuple[Envelope, bytes]:
    """
    seal_message, also returning the message's key (its attachments are sealed
    under it). The copies for the other requesters of a merged thread wait in
    `message.pending_copies` for `save_copies`, once the message is stored.
    """
    envelope, key = seal_item_keyed(
        message,
        "body",
        body,
        sealed_to=bytes(message.request.requester_public_key or b""),
        sealed_key_field="requester_key",
    )
    message.pending_copies = [
        MessageCopy(message=message, request=other, sealed_key=seal_to_requester(public, key))
        for other in thread_requests(message.request)
        if other.pk != message.request_id and (public := bytes(other.requester_public_key or b""))
    ]
    return envelope, key


def save_copies(message: RequestMessage) -> None:
    """Store the copies `seal_message` made (in the transaction that stores the message)."""
    MessageCopy.objects.bulk_create(getattr(message, "pending_copies", []))
    message.pending_copies = []
