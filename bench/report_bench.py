"""
Monthly report time at scale, next to its floor; and the dashboard's server time.

A fresh PostgreSQL database gets N requests (default 1,000,000) spread over four
years with growth, and their cases (most resolved, with outcomes). Then:

* the report for one month (the same function the task and the command use),
  repeated, against the floor: one hand-written SQL GROUP BY (month, category)
  over the same rows, repeated; printed with the ratio;
* storing one month's report with its published figures (the report, the
  export's suppression of every month up to it, the cohort and response times);
* with every month's report stored, the dashboard and a month page as a
  signed-in coordinator sees them: p50/p95 server time and queries per request;
* the statistics export of the last 36 complete months as XLSX (the
  coordinator's download), cold (first run in the process) and warm.

    python dev.py bench report_bench [--rows 1000000] [--repeat 10] [--database bench_report]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, production_env, run_child, summary_ms

FILL_SQL = """
INSERT INTO intake_helprequest
    (reference, received_at, channel, category, service_status, location, urgency,
     legal_articles, language, contact_fingerprint, receipt_selector, receipt_hash)
SELECT 'RB-' || lpad(n::text, 9, '0'),
       -- more requests in later months: the square root spreads them with growth
       timestamptz '2022-12-01 00:00+00'
           + (sqrt(random()) * 47) * interval '30 days',
       (ARRAY['web','telegram','signal','email','phone','other'])[1 + n % 6],
       -- one in ten about desertion, one in ten about a border, the rest consultations
       CASE n % 10 WHEN 0 THEN 'desertion' WHEN 1 THEN 'border_crossing' ELSE 'consultation' END,
       (ARRAY['conscript','mobilised','contract_prewar','contract_wartime','volunteer',
              'civilian','unknown'])[1 + n % 7],
       (ARRAY['home_country','occupied_territory','front_line','abroad','unknown'])[1 + n % 5],
       (ARRAY['low','normal','high','critical'])[1 + n % 4],
       (ARRAY['', '337', '338', '337;338', '332'])[1 + n % 5],
       'ru', '', '', ''
FROM generate_series(1, %(rows)s) AS n;

INSERT INTO cases_case
    (request_id, state, outcome, priority, resolved_at, closed_at, created_at, updated_at,
     notified_at)
SELECT r.id,
       CASE WHEN r.id % 10 < 7 THEN 'closed'
            WHEN r.id % 10 = 7 THEN 'rejected' ELSE 'in_progress' END,
       CASE WHEN r.id % 10 < 7 THEN (ARRAY['left_country','hiding_in_country','consultation_given',
            'referred','lost_contact','returned_to_service','detained','declined'])[1 + r.id % 8]
            ELSE '' END,
       2,
       CASE WHEN r.id % 10 < 7 THEN r.received_at + (r.id % 40) * interval '1 day' END,
       CASE WHEN r.id % 10 < 8 THEN r.received_at + (r.id % 40) * interval '1 day' END,
       r.received_at, now(), now()
FROM intake_helprequest r;
"""

FLOOR_SQL = """
SELECT date_trunc('month', received_at AT TIME ZONE 'UTC') AS month, category, count(*)
FROM intake_helprequest
WHERE received_at < %s
GROUP BY 1, 2
"""


def child(rows: int, repeat: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reports.exports import export_statistics
    from reports.months import bounds, current_month, shift
    from reports.services import monthly_report, months_with_requests, store_report, store_reports
    from tests.staffing import make_staff, sign_in

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL.replace("%(rows)s", str(rows)))
    fill_s = time.perf_counter() - started
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load

    month = shift(current_month(), -1)
    _start, end = bounds(month)
    report_s, floor_s = [], []
    for _ in range(repeat):
        begun = time.perf_counter()
        report = monthly_report(month)
        report_s.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [end])
            cursor.fetchall()
        floor_s.append(time.perf_counter() - begun)
    with CaptureQueriesContext(connection) as captured:
        monthly_report(month)

    begun = time.perf_counter()
    store_reports(months_with_requests())
    store_all_s = time.perf_counter() - begun
    store_s = []
    for _ in range(3):
        begun = time.perf_counter()
        store_report(month)
        store_s.append(time.perf_counter() - begun)

    coordinator = make_staff("bench-coordinator", "coordinator")
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    sign_in(client, coordinator)
    pages = {}
    for name, url in (
        ("dashboard", "/staff/dashboard/"),
        ("month", f"/staff/reports/{month:%Y-%m}/"),
    ):
        client.get(url)
        samples = []
        for _ in range(100):
            with CaptureQueriesContext(connection) as page_queries:
                begun = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - begun)
            assert response.status_code == 200
        pages[name] = {**summary_ms(samples), "queries": len(page_queries)}

    first = shift(month, -35)
    xlsx_s = []
    for _ in range(5):
        begun = time.perf_counter()
        export = export_statistics(first, month, "xlsx", headers="en")
        xlsx_s.append(time.perf_counter() - begun)
    return {
        "rows": rows,
        "fill_s": fill_s,
        "month": report["month"],
        "month_requests": report["requests"],
        "cumulative": report["cumulative"]["requests"],
        "report_ms": statistics.median(report_s) * 1000,
        "floor_ms": statistics.median(floor_s) * 1000,
        "report_queries": len(captured),
        "store_all_s": store_all_s,
        "store_ms": statistics.median(store_s) * 1000,
        "dashboard": pages["dashboard"],
        "month_page": pages["month"],
        "xlsx": {
            "months": 36,
            "bytes": len(export.content),
            "cold_ms": xlsx_s[0] * 1000,
            "warm_ms": statistics.median(xlsx_s[1:]) * 1000,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database", default="bench_report", help="the database to drop and fill (bench_report)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return

    url = fresh_postgres(args.database, args.postgres_url)
    result = run_child(
        __file__, [str(args.rows), "--repeat", str(args.repeat)], production_env(url)
    )
    print(
        f"{result['rows']:,} requests (filled in {result['fill_s']:.0f} s); report for "
        f"{result['month']}: {result['month_requests']:,} that month, "
        f"{result['cumulative']:,} to date"
    )
    ratio = result["report_ms"] / result["floor_ms"]
    queries = result["report_queries"]
    print(f"monthly report   median {result['report_ms']:7.1f} ms  ({queries} queries)")
    print(f"SQL GROUP BY     median {result['floor_ms']:7.1f} ms  (the floor)")
    print(f"ratio report/floor {ratio:.2f}")
    print(
        f"store one month  median {result['store_ms']:7.1f} ms  (report, suppression of every "
        f"month, cohort, response times); every month: {result['store_all_s']:.1f} s"
    )
    for name in ("dashboard", "month_page"):
        page = result[name]
        print(
            f"{name:<16} p50 {page['p50']:.1f} ms  p95 {page['p95']:.1f} ms  "
            f"max {page['max']:.1f} ms  ({page['queries']} queries)"
        )
    xlsx = result["xlsx"]
    print(
        f"xlsx, {xlsx['months']} months  cold {xlsx['cold_ms']:.0f} ms  "
        f"warm {xlsx['warm_ms']:.0f} ms  ({xlsx['bytes']:,} bytes)"
    )


if __name__ == "__main__":
    main()
