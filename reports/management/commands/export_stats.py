"""
`manage.py export_stats --from YYYY-MM --to YYYY-MM --format csv|json|xlsx [--min-cell K]
[--headers codes|en|ru]`.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from reports.exports import FORMATS, HEADERS, ExportRefused, export_statistics
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
            default=None,
            metavar="K",
            help="smallest count published: MIN_PUBLISHED_CELL (10 unless set) or more",
        )
        parser.add_argument(
            "--headers",
            choices=HEADERS,
            default="codes",
            help="column headers of csv and xlsx: the codes (default), or words in en or ru",
        )

    def handle(self, *args, first, last, file_format, min_cell, headers, **options) -> None:
        binary = self._binary_stdout() if file_format == "xlsx" else None
        try:
            export = export_statistics(
                parse_month(first), parse_month(last), file_format, min_cell, headers=headers
            )
        except (BadMonth, ExportRefused) as error:
            raise CommandError(str(error)) from None
        # Written only once complete and audited: a failure prints nothing.
        if binary is not None:
            binary.write(export.content)
            binary.flush()
        else:
            self.stdout.write(export.content, ending="")

    def _binary_stdout(self):
        """Where the workbook's bytes go: the bytes under stdout, never a terminal."""
        stream = getattr(self.stdout, "_out", sys.stdout)
        binary = getattr(stream, "buffer", None)
        if binary is None and hasattr(stream, "getbuffer"):
            binary = stream  # an io.BytesIO passed as stdout (call_command)
        if binary is None or (hasattr(stream, "isatty") and stream.isatty()):
            raise CommandError("xlsx is binary: redirect it to a file, e.g. > stats.xlsx.")
        return binary
