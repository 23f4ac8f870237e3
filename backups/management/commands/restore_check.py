"""`manage.py restore_check BACKUP`: restore a backup into a scratch database and check it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups import services
from core.prompts import ask_secret


class Command(BaseCommand):
    help = (
        "Ask for an age identity (never taken from the command line), restore BACKUP (NAME.age, "
        "beside NAME.manifest) into a scratch database (tropa_restore_<random> on PostgreSQL, "
        "through a decrypting pipe into pg_restore; memory on SQLite), and check the "
        "manifest's signature and figures, the audit chain against the signed checkpoints, "
        "the migrations and the reports rebuilt from the data; then drop the scratch "
        "database, whatever happened. Exits 1 naming every difference."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("backup", help="the backup's .age file")
        parser.add_argument(
            "--checkpoints",
            metavar="PATH",
            help="signed checkpoints to check the chain against (default: the checkpoint store)",
        )
        parser.add_argument(
            "--compare-live",
            action="store_true",
            help="also name every table whose live row count differs from the backup's",
        )

    def handle(self, *args, backup: str, checkpoints: str | None, **options) -> None:
        identity = ask_secret("age identity that opens the backup (AGE-SECRET-KEY-1…): ")
        try:
            report = services.restore_check(
                Path(backup),
                identity,
                checkpoints_from=checkpoints,
                compare_live=options["compare_live"],
            )
        except services.BackupError as error:
            raise CommandError(f"Restore check not done: {error}.") from None
        for note in report.notes:
            self.stdout.write(note)
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"Restore check FAILED: {len(report.problems)} problem(s).")
        self.stdout.write("Restore check passed; the scratch database is dropped.")
