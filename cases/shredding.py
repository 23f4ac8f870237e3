"""
What a shred destroys of the caseworkers' side (encryption.signals.shredding):
every reply template (sealed to a key that no longer exists, so of no use to
anyone, and gone rather than left to be guessed at), and every flood digest
(a keyed hash of a held request's narrative, which would let the server test
a guessed narrative). Held requests stay held, in one group.
"""

from cases.models import Case, ReplyTemplate
from core.storage import request_rewrite


def forget_templates_and_digests(sender, *, dry_run: bool, **kwargs) -> dict[str, int]:
    digests = Case.objects.exclude(flood_digest="")
    if dry_run:
        return {"reply_templates": ReplyTemplate.objects.count(), "flood_digests": digests.count()}
    templates, _ = ReplyTemplate.objects.all().delete()
    found = {"reply_templates": templates, "flood_digests": digests.update(flood_digest="")}
    # The deleted and cleared values linger in the tables' files until they are rewritten.
    request_rewrite([ReplyTemplate, Case], "content_key.shred")
    return found
