"""`manage.py seal_content [--batch-size N] [--dry-run]`: seal what predates content keys."""

from django.core.management.base import BaseCommand, CommandError

from encryption.migration import DEFAULT_BATCH_SIZE, SealingCounts, seal_unsealed
from encryption.sealing import NoOrganisationKey


class Command(BaseCommand):
    help = (
        "Seal to the organisation key every narrative, contact, note and message stored before "
        "content keys existed (readable with ENCRYPTION_KEY alone until then), batch by batch "
        "while the site runs, and erase fingerprints made under ENCRYPTION_KEY. Needs only the "
        "organisation's public key; an interrupted run resumes where it stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--dry-run", action="store_true", help="count; write nothing")

    def handle(self, *args, batch_size: int, dry_run: bool, **options) -> None:
        if batch_size < 1:
            raise CommandError(f"--batch-size must be 1 or more, not {batch_size}")
        try:
            counts = seal_unsealed(batch_size=batch_size, dry_run=dry_run, progress=self._progress)
        except NoOrganisationKey as error:
            raise CommandError(str(error)) from None
        verb = "Would seal" if dry_run else "Sealed"
        self.stdout.write(
            f"{verb} {counts.values} values in {counts.sealed_rows} of {counts.rows} rows; "
            f"{counts.fingerprints_erased} old fingerprints erased. Caseworkers' sessions make "
            "new fingerprints as they work (or run fingerprint_requests)."
        )
        if counts.sealed_rows and not dry_run:
            self.stdout.write(
                "The old values linger in the tables' files until they are rewritten tonight "
                "(or by manage.py rewrite_tables), and in backups until those expire."
            )

    def _progress(self, model: str, counts: SealingCounts) -> None:
        self.stderr.write(f"  {model}: {counts.rows} rows read, {counts.sealed_rows} sealed")
