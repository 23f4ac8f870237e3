"""`manage.py export_stats --from YYYY-MM --to YYYY-MM --format csv|json [--min-cell K]`."""

from django.core.management.base import BaseCommand, CommandError

from reports.exports import DEFAULT_MIN_CELL, FORMATS, ExportRefused, export_statistics
from reports.months import BadMonth, parse_month


class Command(BaseCommand):
    help = (
        "Print anonymised monthly statistics for publication, every month from --from to --to: "
        "counts from 1 to K-1 are withheld, with enough other cells that none can be worked "
        "out from the published totals. The export is audited."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM")
        parser.add_argument("--to", dest="last", required=True, metavar="YYYY-MM")
        parser.add_argument("--format", dest="file_format", required=True, choices=FORMATS)
        parser.add_argument(
            "--min-cell",
            type=int,
            default=DEFAULT_MIN_CELL,
            metavar="K",
            help=f"smallest count published (default {DEFAULT_MIN_CELL})",
        )

    def handle(self, *args, first: str, last: str, file_format: str, min_cell: int, **options):
        try:
            export = export_statistics(parse_month(first), parse_month(last), file_format, min_cell)
        except (BadMonth, ExportRefused) as error:
            raise CommandError(str(error)) from None
        # Written only once complete and audited: a failure prints nothing.
        self.stdout.write(export.content, ending="")
