"""
What a shred destroys on the requester's side (encryption.signals.shredding).

A receipt code opens its thread without the organisation key: the message
keys are sealed to the requester's public key too, and the code gives back
the private half. Destroying the organisation's keys leaves that way open, so
a shred also clears every receipt hash and selector (no code finds its
request), every requester public key (no code can be matched to one), every
message key sealed to a requester, and the HMAC key the hashes were made
with; and the bots' retry keys with the secret their codes are remade from
(intake.receipts.code_for_retry). After it, any receipt code gets the answer
an unknown code gets.
"""

import logging

from django.core.cache import cache
from django.db.models import Q

from core.storage import request_rewrite
from encryption.models import ServerSecret
from encryption.server_secrets import forget_server_secret
from intake import receipts
from intake.attachments.services import forget_attachments
from intake.models import Attachment, HelpRequest, RequestMessage, SubmissionKey
from intake.services import LEGACY_CACHE_KEY

logger = logging.getLogger(__name__)


def forget_receipts(sender, *, dry_run: bool, **kwargs) -> dict[str, int]:
    with_code = HelpRequest.objects.filter(
        ~Q(receipt_hash="") | ~Q(receipt_selector="") | ~Q(requester_public_key=b"")
    )
    sealed_to_requesters = RequestMessage.objects.exclude(requester_key=b"")
    if dry_run:
        return {"receipt_codes": with_code.count(), "requester_keys": sealed_to_requesters.count()}
    SubmissionKey.objects.all().delete()
    found = {
        "receipt_codes": with_code.update(
            receipt_selector="", receipt_hash="", requester_public_key=b""
        ),
        "requester_keys": sealed_to_requesters.update(requester_key=b""),
    }
    forget_server_secret(receipts.SERVER_KEY)
    forget_server_secret(receipts.RETRY_KEY)
    try:
        # Whether legacy hashes remain: none do now.
        cache.delete(LEGACY_CACHE_KEY)
    except Exception:  # the shred goes on; the answer expires within minutes
        logger.warning("shred: the cache did not answer; a receipt flag expires by itself")
    # The cleared values linger in the tables' files until they are rewritten.
    request_rewrite([HelpRequest, RequestMessage, SubmissionKey, ServerSecret], "content_key.shred")
    return found


def forget_attachments_everywhere(sender, *, dry_run: bool, **kwargs) -> dict[str, int]:
    """
    Every attachment: its row now, its storage objects once the shred commits.
    Their keys (the requests' and messages') die with the envelopes anyway, so a
    copy of an object kept elsewhere opens for nobody; deleting them leaves no
    ciphertext to wait for a key that will never exist.
    """
    attachments = Attachment.objects.all()
    if dry_run:
        return {"attachments": attachments.count()}
    found = {"attachments": forget_attachments(attachments)}
    request_rewrite([Attachment], "content_key.shred")
    return found
