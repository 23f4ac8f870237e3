"""`manage.py rotate_content_key USERNAME`: replace the organisation key."""

from django.core.management.base import BaseCommand, CommandError

from cases.access import refingerprint_all
from cases.management.commands._caseworker import unlock_caseworker
from encryption import services as key_services

BATCH = 1000


class Command(BaseCommand):
    help = (
        "Replace the organisation key that seals every case: a new key pair is granted to every "
        "caseworker who holds the current one and wrapped for the recovery key, every envelope "
        "is re-sealed to it batch by batch, every contact fingerprint is made again with it, "
        "and then the old key is destroyed. Run by a caseworker with access (their password is "
        "asked for, never taken from the command line). Interrupted, it resumes where it stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="a caseworker with access to the content")

    def handle(self, *args, username: str, **options) -> None:
        caseworker = unlock_caseworker(username)
        if key_services.rotation_in_progress():
            self.stderr.write("A rotation is under way: resuming it.")
        else:
            key_services.start_rotation(actor=caseworker.user, reason="rotate_content_key")
            self.stderr.write("A new organisation key was made and granted.")
        keys = caseworker.keys()
        if keys.active_key_id() is None:
            raise CommandError(
                "The rotation under way made a key that your grants do not hold: run this as a "
                "caseworker who holds both keys."
            )
        moved = 0
        while done := key_services.reseal_envelopes(keys, limit=BATCH):
            moved += done
            self.stderr.write(f"  {moved} envelopes re-sealed")
        changed = refingerprint_all(
            keys,
            batch_size=BATCH,
            progress=lambda _last, n: self.stderr.write(f"  {n} fingerprints made again"),
        )
        retired = key_services.retire_replaced_keys(actor=caseworker.user)
        self.stdout.write(
            f"Rotated: {moved} envelopes re-sealed, {changed} fingerprints made again, "
            f"{len(retired)} old organisation key(s) destroyed. Caseworkers signed in before "
            "the rotation must sign in again to read what the new key seals. The old key's "
            "wrappings stay in the table files until tonight's rewrite (or manage.py "
            "rewrite_tables), and in backups until those expire."
        )
