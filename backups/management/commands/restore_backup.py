"""`manage.py restore_backup BACKUP`: restore a proven backup into an empty database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups import services
from core.prompts import ask_secret


class Command(BaseCommand):
    help = (
        "Ask for an age identity (never taken from the command line) and restore BACKUP "
        "(NAME.age beside its signed NAME.manifest) into the configured database, which must "
        "be empty: the dump streams from age into pg_restore (PostgreSQL) or from memory into "
        "the database (SQLite); nothing unencrypted is written elsewhere. Refuses a backup "
        "whose manifest or file does not hold. Run migrate and verify_audit_log after it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("backup", help="the backup's .age file")

    def handle(self, *args, backup: str, **options) -> None:
        identity = ask_secret("age identity that opens the backup (AGE-SECRET-KEY-1…): ")
        try:
            report = services.restore_into_empty(Path(backup), identity)
        except services.BackupError as error:
            raise CommandError(f"Nothing restored: {error}.") from None
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"Restore FAILED: {len(report.problems)} problem(s).")
        for note in report.notes:
            self.stdout.write(note)
