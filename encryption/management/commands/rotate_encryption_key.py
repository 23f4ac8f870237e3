"""`manage.py rotate_encryption_key [--batch-size N] [--dry-run]`: everything under the new key."""

from django.core.management.base import BaseCommand, CommandError

from encryption.rotation import (
    DEFAULT_BATCH_SIZE,
    BatchDone,
    RotationResult,
    RotationStopped,
    old_key_count,
    rotate_encryption_key,
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value in the database under ENCRYPTION_KEY, reading old "
        "values with ENCRYPTION_OLD_KEYS, and recompute contact fingerprints. Works in batches, "
        "each in its own transaction: an interrupted run can simply be started again. Once it "
        "has finished, the old keys can be removed from ENCRYPTION_OLD_KEYS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change; write nothing"
        )

    def handle(self, *args, batch_size: int, dry_run: bool, verbosity: int = 1, **options):
        if batch_size < 1:
            raise CommandError(f"--batch-size must be 1 or more, not {batch_size}")
        self.dry_run = dry_run
        progress = self._progress if verbosity >= 1 else None
        if old_key_count() == 0:
            self.stderr.write(
                "No ENCRYPTION_OLD_KEYS configured: nothing to re-encrypt, checking that every "
                "value opens with ENCRYPTION_KEY."
            )
        try:
            result = rotate_encryption_key(
                batch_size=batch_size, dry_run=dry_run, progress=progress
            )
        except RotationStopped as stopped:
            raise CommandError(self._stopped(stopped)) from None
        self.stdout.write(self._summary(result))

    def _progress(self, batch: BatchDone) -> None:
        reencrypted, updated = (
            ("to re-encrypt", "to update") if self.dry_run else ("re-encrypted", "updated")
        )
        self.stderr.write(
            f"  {batch.model}: {batch.rows_done}/{batch.rows_total} rows, "
            f"{batch.reencrypted} values {reencrypted}, "
            f"{batch.fingerprints_updated} fingerprints {updated}"
        )

    def _stopped(self, stopped: RotationStopped) -> str:
        done = stopped.result.reencrypted if stopped.result else 0
        message = f"Stopped: {stopped}. Nothing in that batch was changed"
        if done and not self.dry_run:
            message += f"; the {done} value(s) re-encrypted in earlier batches stay done"
        return message + ". Add the key it was written with to ENCRYPTION_OLD_KEYS and run again."

    def _summary(self, result: RotationResult) -> str:
        counts = (
            f"{result.reencrypted} values in {result.rows_changed} rows; "
            f"{result.already_current} were already current"
        )
        if result.dry_run:
            return (
                f"Dry run, nothing written: would re-encrypt {counts}; "
                f"would update {result.fingerprints_updated} contact fingerprints."
            )
        return f"Re-encrypted {counts}. Updated {result.fingerprints_updated} contact fingerprints."
