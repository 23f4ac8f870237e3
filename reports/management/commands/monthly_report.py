"""`manage.py monthly_report YYYY-MM [--json] [--store]`: one month's figures."""

import json

from django.core.management.base import BaseCommand, CommandError

from reports.months import BadMonth, parse_month
from reports.services import monthly_report, store_report

TABLES = (
    ("by_category", "Requests by category"),
    ("by_service_status", "Service status of potential deserters"),
    ("by_channel", "Requests by channel"),
    ("by_legal_article", "Requests by legal article"),
    ("by_outcome", "Resolutions by outcome"),
)


class Command(BaseCommand):
    help = (
        "Compute the monthly report for YYYY-MM (the same function the Celery task uses). "
        "--json prints exactly one JSON object; --store saves it as that month's stored report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("month", help="the month, as YYYY-MM")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print JSON only")
        parser.add_argument("--store", action="store_true", help="save as the stored report")

    def handle(self, *args, month: str, as_json: bool, store: bool, **options) -> None:
        try:
            first_day = parse_month(month)
        except BadMonth as error:
            raise CommandError(str(error)) from None
        report = store_report(first_day).data if store else monthly_report(first_day)
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self._print_table(report)
        if store:
            self.stdout.write(f"\nStored as the report for {report['month']}.")

    def _print_table(self, report: dict) -> None:
        write = self.stdout.write
        share = report["share_abroad"]
        ratio = report["same_month_last_year"]["ratio"]
        write(f"Monthly report {report['month']}")
        write(f"  requests received           {report['requests']:>8}")
        write(f"  desertion-related           {report['desertion_related']:>8}")
        write(f"  resolved                    {report['resolved']:>8}")
        write(f"  assisted desertions         {report['assisted_desertions']:>8}")
        write(f"  share abroad                {'—' if share is None else f'{share:.0%}':>8}")
        last_year = report["same_month_last_year"]["desertion"]
        write(
            f"  desertion a year earlier    {last_year:>8}  "
            f"(ratio {'—' if ratio is None else ratio})"
        )
        record = "yes" if report["record_desertion_month"] else "no"
        write(f"  record desertion month      {record:>8}")
        cumulative = report["cumulative"]
        write(
            f"  to date: {cumulative['requests']} requests, {cumulative['desertion_related']} "
            f"desertion-related, {cumulative['assisted_desertions']} assisted desertions"
        )
        for key, title in TABLES:
            write(f"\n{title}")
            for slug, count in report[key].items():
                write(f"  {slug:<26}{count:>8}")
