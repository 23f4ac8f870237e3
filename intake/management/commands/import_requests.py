"""`manage.py import_requests FILE.csv`: historical requests, all or nothing."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from encryption.sealing import NoOrganisationKey, SealingFailed
from encryption.services import has_organisation_key
from intake.importing import COLUMNS, ImportFailed, import_file, printable


class Command(BaseCommand):
    help = (
        "Import historical help requests from a UTF-8 CSV file with the columns "
        + ",".join(COLUMNS)
        + ". A file with any invalid row imports nothing; references already stored are skipped. "
        "Contacts and narratives are sealed to the organisation key (only its public half is "
        "needed); run fingerprint_requests afterwards to recognise repeat requesters at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="path to the CSV file")
        parser.add_argument(
            "--show-values",
            action="store_true",
            help=(
                "quote every refused value in the errors (for a trusted terminal only: a "
                "value in the wrong column may be a contact or a story); by default only "
                "values that could be a slug or a date are quoted, others by their length"
            ),
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=(
                "processes that parse and encrypt beside this one; 0 does everything here "
                "(default: 0 under 4 MB, else one per core but one)"
            ),
        )

    def handle(
        self,
        *args,
        file: Path,
        workers: int | None,
        show_values: bool = False,
        verbosity: int = 1,
        **options,
    ) -> None:
        name = printable(file.name)
        if not file.is_file():
            raise CommandError(f"{printable(str(file))}: no such file")
        if workers is not None and workers < 0:
            raise CommandError(f"--workers must be 0 or more, not {workers}")
        if not has_organisation_key():
            raise CommandError(str(NoOrganisationKey.message))
        started = time.monotonic()
        progress = self._progress if verbosity >= 1 else None
        try:
            summary = import_file(file, progress=progress, workers=workers)
        except ImportFailed as failure:
            for error in failure.errors:
                self.stderr.write(f"{name}: {error.text(show_values)}")
            hidden = failure.total_errors - len(failure.errors)
            if hidden > 0:
                self.stderr.write(f"... and {hidden} more error(s)")
            raise CommandError(
                f"{name}: {failure.total_errors} error(s); nothing was imported."
            ) from None
        except SealingFailed as failure:
            # The whole import is one transaction: it was rolled back.
            raise CommandError(f"{file.name}: {failure}; nothing was imported.") from None
        for warning in summary.warnings:
            self.stderr.write(self.style.WARNING(f"{name}: {warning}"))
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Imported {summary.created} request(s) from {name}; "
            f"skipped {summary.skipped} already stored; {summary.rows} row(s) in "
            f"{seconds:.1f} s."
        )

    def _progress(self, rows: int, done_bytes: int, total_bytes: int) -> None:
        self.stderr.write(f"  {rows} rows read ({100 * done_bytes // total_bytes}%)…")
