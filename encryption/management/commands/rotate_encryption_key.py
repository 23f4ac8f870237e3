"""`manage.py rotate_encryption_key [--batch-size N] [--dry-run] [--rewrite-now]`: everything
under the new key."""

import signal
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError

from core.storage import RESIDUE_NOTE, rewrite_pending
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
        "values with ENCRYPTION_OLD_KEYS. Works in batches, "
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
        parser.add_argument(
            "--rewrite-now",
            action="store_true",
            help=(
                "then rewrite the changed tables at once instead of tonight, so old-key values "
                "leave their files (each table is locked while it is copied)"
            ),
        )

    def handle(
        self,
        *args,
        batch_size: int,
        dry_run: bool,
        rewrite_now: bool = False,
        verbosity: int = 1,
        **options,
    ):
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
            with _terminate_as_exception():
                result = rotate_encryption_key(
                    batch_size=batch_size, dry_run=dry_run, progress=progress
                )
        except RotationStopped as stopped:
            raise CommandError(self._stopped(stopped)) from None
        self.stdout.write(self._summary(result))
        if result.rewrite_tables:
            self._rewrite(result.rewrite_tables, now=rewrite_now)

    def _rewrite(self, tables: list[str], *, now: bool) -> None:
        if not now:
            self.stdout.write(
                f"Values under the old key stay readable in the files of {', '.join(tables)} "
                "until these tables are rewritten: beat does it tonight (core.rewrite_tables, "
                "04:00), or run `manage.py rewrite_tables` at a quiet moment. Destroy the old "
                f"key only after that. {RESIDUE_NOTE}"
            )
            return
        report = rewrite_pending()
        self.stdout.write(report.describe())
        if report.waiting:
            raise CommandError(
                f"Not rewritten yet: {', '.join(report.waiting)} "
                f"({report.note or 'busy'}); they stay queued for tonight's rewrite."
            )

    def _progress(self, batch: BatchDone) -> None:
        reencrypted = "to re-encrypt" if self.dry_run else "re-encrypted"
        self.stderr.write(
            f"  {batch.model}: {batch.rows_done}/{batch.rows_total} rows, "
            f"{batch.reencrypted} values {reencrypted}"
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
            return f"Dry run, nothing written: would re-encrypt {counts}."
        return f"Re-encrypted {counts}."


@contextmanager
def _terminate_as_exception():
    """
    SIGTERM (systemctl stop, docker stop, kill) would end the process on the
    spot; raised as an exception instead, the rotation can audit that it did
    not finish. SIGKILL cannot be caught: its start entry then stands alone.
    """

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
