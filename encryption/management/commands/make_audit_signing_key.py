"""`manage.py make_audit_signing_key PATH`: the key that signs audit checkpoints."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from encryption import checkpoint_key


class Command(BaseCommand):
    help = (
        "Make the Ed25519 key that signs audit checkpoints and write it to PATH (readable by "
        "its owner only; an existing file is never overwritten). Point AUDIT_SIGNING_KEY_FILE "
        "at it, outside the database, the repository and its backups. Prints the public key: "
        "put it in AUDIT_CHECKPOINT_PUBLIC_KEYS and keep a copy off the server."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="where to write the private key (must not exist)")

    def handle(self, *args, path: str, **options) -> None:
        target = Path(path)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a folder.")
        try:
            public = checkpoint_key.make_signing_key(target)
        except FileExistsError:
            raise CommandError(f"{target} exists; a signing key is never overwritten.") from None
        except OSError as error:
            raise CommandError(f"{target} cannot be written: {error.strerror}.") from None
        key_id = checkpoint_key.key_id(public)
        self.stdout.write(f"Signing key written to {target} (key id {key_id}).")
        self.stdout.write(f"Public key: {checkpoint_key.public_text(public)}")
