"""manage.py purge_expired [--dry-run] [--rewrite-now]: erase the content of expired cases now."""

from django.core.management.base import BaseCommand, CommandError

from cases.retention import PurgeResult, purge_expired, retention_days
from core.storage import RESIDUE_NOTE, rewrite_pending

PROGRESS_EVERY = 10_000


class Command(BaseCommand):
    help = (
        "Erase every encrypted value (contact, narrative, notes, messages...) of cases "
        "closed or rejected longer than RETENTION_DAYS ago. Slugs and dates stay, so "
        "reports do not change."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be erased; change nothing."
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--rewrite-now",
            action="store_true",
            help=(
                "then rewrite the tables at once instead of tonight, so the erased values "
                "leave their files (each table is locked while it is copied)"
            ),
        )

    def handle(self, *args, dry_run: bool, batch_size: int, rewrite_now: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        days = retention_days()

        reported = [0]

        def progress(result: PurgeResult) -> None:
            # A line every 10,000 cases: a first purge of imported history is long.
            if result.purged - reported[0] >= PROGRESS_EVERY:
                reported[0] = result.purged
                verb = "found" if dry_run else "erased"
                self.stderr.write(f"  {result.purged} case(s) {verb} so far…")

        result = purge_expired(dry_run=dry_run, batch_size=batch_size, progress=progress)
        if dry_run:
            self.stdout.write(
                f"Would erase the content of {result.purged} case(s) closed or rejected "
                f"with no activity for {days} days."
            )
            for reference in result.references:
                self.stdout.write(f"  {reference}")
            return
        self.stdout.write(
            f"Erased the content of {result.purged} case(s) ({result.notes} note(s), "
            f"{result.messages} message(s)); retention is {days} days."
        )
        if not result.rewrite_tables:
            return
        if not rewrite_now:
            self.stdout.write(
                "The erased values stay readable in the files of "
                f"{', '.join(result.rewrite_tables)} until these tables are rewritten: beat "
                "does it tonight (core.rewrite_tables, 04:00), or run `manage.py "
                f"rewrite_tables` at a quiet moment. {RESIDUE_NOTE}"
            )
            return
        report = rewrite_pending()
        self.stdout.write(report.describe())
        if report.waiting:
            raise CommandError(
                f"Not rewritten yet: {', '.join(report.waiting)} "
                f"({report.note or 'busy'}); they stay queued for tonight's rewrite."
            )
