"""`manage.py shred_content_keys [--dry-run]`: make every stored content unreadable, for ever."""

from django.core.management.base import BaseCommand, CommandError

from core.prompts import ask_line
from encryption import services

FIRST = "shred"
SECOND = "yes, destroy every key"


class Command(BaseCommand):
    help = (
        "Destroy every grant, the recovery wrapping, every envelope and every key pair, and end "
        "every session: all content (narratives, contacts, notes, messages) becomes unreadable "
        "for ever; statistics stay. For a raid. Asks for two typed confirmations; try --dry-run "
        "first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be destroyed; destroy nothing"
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        counts = services.shred_counts()
        self.stdout.write(
            f"This destroys {counts.organisation_keys} organisation key(s), {counts.grants} "
            f"grant(s), {counts.recovery_wraps} recovery wrapping(s), {counts.envelopes} "
            f"envelope(s) and {counts.caseworker_keys} caseworker key(s), ends "
            f"{counts.sessions} session(s) and erases {counts.fingerprints} fingerprint(s)."
        )
        if dry_run:
            self.stdout.write("Dry run: nothing was destroyed.")
            return
        if ask_line(f'Type "{FIRST}" to continue: ') != FIRST:
            raise CommandError("Not confirmed: nothing was destroyed.")
        if ask_line(f'Nothing can bring the content back. Type "{SECOND}": ') != SECOND:
            raise CommandError("Not confirmed: nothing was destroyed.")
        services.shred(actor="manage.py shred_content_keys")
        self.stdout.write(
            "Shredded: no stored content can be opened any more. The next caseworker created "
            "with create_staff makes a new organisation key. Table files, WAL archives, "
            "snapshots and backups may still hold the destroyed wrappings until they are "
            "overwritten or destroyed (docs/deployment.md)."
        )
