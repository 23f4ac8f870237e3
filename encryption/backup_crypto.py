"""
Encrypting backups to offline keys with age (pyrage), and opening them.

The server holds only the recipients (age public keys, BACKUP_RECIPIENTS_FILE):
it can write a backup but never read one. The identity that opens a backup is
typed at a prompt by whoever runs `restore_check` and exists only in that
process's memory; what it decrypts goes to memory too, never to a file.
"""

from pathlib import Path

import pyrage
from django.conf import settings


class BackupKeyError(Exception):
    """No usable recipient or identity, or a backup this identity cannot open."""


def recipients() -> list:
    path = settings.BACKUP_RECIPIENTS_FILE
    if not path:
        raise BackupKeyError("BACKUP_RECIPIENTS_FILE is not set")
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise BackupKeyError(f"{path} cannot be read ({error.strerror})") from None
    keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    try:
        parsed = [pyrage.x25519.Recipient.from_str(key) for key in keys]
    except pyrage.RecipientError:
        raise BackupKeyError(f"{path} holds a line that is not an age public key") from None
    if not parsed:
        raise BackupKeyError(f"{path} names no recipient")
    return parsed


def encrypt(data: bytes) -> bytes:
    """`data` encrypted to every configured recipient (any one of them opens it)."""
    return pyrage.encrypt(data, recipients())


def decrypt(data: bytes, identity: str) -> bytes:
    try:
        key = pyrage.x25519.Identity.from_str(identity.strip())
    except pyrage.IdentityError:
        raise BackupKeyError("that is not an age identity (AGE-SECRET-KEY-1…)") from None
    try:
        return pyrage.decrypt(data, [key])
    except pyrage.DecryptError:
        raise BackupKeyError("this identity does not open this backup") from None


def encrypt_stream(reader, writer) -> None:
    """
    What `reader` gives (pg_dump's output, a tar of attachments), encrypted to
    every configured recipient as it is read, written to `writer`: nothing
    unencrypted is held whole in memory or written anywhere.
    """
    pyrage.encrypt_io(reader, writer, recipients())


def decrypt_stream(reader, writer, identity: str) -> None:
    """An age stream from `reader`, decrypted as it is read, into `writer` (a pipe)."""
    try:
        key = pyrage.x25519.Identity.from_str(identity.strip())
    except pyrage.IdentityError:
        raise BackupKeyError("that is not an age identity (AGE-SECRET-KEY-1…)") from None
    try:
        pyrage.decrypt_io(reader, writer, [key])
    except pyrage.DecryptError:
        raise BackupKeyError("this identity does not open this backup") from None
