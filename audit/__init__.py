"""
The append-only, hash-chained audit log.

Every entry holds the hash of the one before it, so editing or deleting any
entry breaks the chain, which `manage.py verify_audit_log` detects. Entries name
actions and references, never a sensitive value.
"""
