"""Encrypted backups with a signed manifest, and restores that prove them."""
