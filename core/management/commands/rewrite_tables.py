"""`manage.py rewrite_tables [--list]`: rewrite now the tables waiting for tonight's rewrite."""

from django.core.management.base import BaseCommand, CommandError

from core.storage import pending_tables, rewrite_pending


class Command(BaseCommand):
    help = (
        "Rewrite the tables in which the retention purge or a key rotation left erased or "
        "old-key values (VACUUM FULL on PostgreSQL, VACUUM on SQLite). Each table is locked "
        "while it is copied: the site waits on it meanwhile. Beat does this every night."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--list",
            action="store_true",
            dest="list_only",
            help="only list the tables waiting; rewrite nothing",
        )

    def handle(self, *args, list_only: bool, **options) -> None:
        waiting = pending_tables()
        if list_only or not waiting:
            self.stdout.write(
                f"Tables waiting to be rewritten: {', '.join(waiting)}."
                if waiting
                else "No table is waiting to be rewritten."
            )
            return
        report = rewrite_pending()
        self.stdout.write(report.describe())
        if report.waiting:
            raise CommandError(
                f"Not rewritten: {', '.join(report.waiting)}"
                + (f" ({report.note})" if report.note else " (busy: run again later)")
                + "."
            )
