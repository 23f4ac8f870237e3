"""`manage.py backup [--to DIR]`: an encrypted backup and its signed manifest."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups import services


class Command(BaseCommand):
    help = (
        "Back the database up, encrypted with age to the recipients in BACKUP_RECIPIENTS_FILE, "
        "into BACKUP_DIR: on PostgreSQL pg_dump --format=custom streamed through age (and the "
        "attachments storage, when there is one, as a tar), on SQLite the online backup API "
        "in memory; beside it NAME.manifest (row counts per table, the audit head, the "
        "migrations, a digest of the reports), signed with the audit signing key. Nothing "
        "unencrypted is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--to", metavar="DIR", help="the folder (default BACKUP_DIR)")

    def handle(self, *args, to: str | None, **options) -> None:
        folder = Path(to or settings.BACKUP_DIR)
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        try:
            archive, manifest = services.make_backup(folder)
        except services.BackupError as error:
            raise CommandError(f"No backup made: {error}.") from None
        self.stdout.write(f"Backup: {archive}")
        self.stdout.write(f"Manifest: {manifest}")
