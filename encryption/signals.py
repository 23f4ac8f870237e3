"""
What a shred destroys outside the key tables.

The key tables are `encryption`'s own; but the requester's copies of message
keys, the receipt codes' hashes, reply templates, flood digests and the bot's
cached dialogues belong to the apps that keep them, which this ground floor
does not import. `shredding` asks each of them, inside the shred's
transaction, to destroy theirs (or, with `dry_run`, to count them).

A receiver returns a dict of what it destroyed: a detail key of the audit log
(audit.labels.DETAIL_KEYS) and a count, or None where it could not (the cache
did not answer). A receiver that raises stops the shred and rolls it back.
"""

from django.dispatch import Signal

# Sent with dry_run: bool.
shredding = Signal()
