"""
Monthly report time at scale, next to its floor; and the dashboard's server time.

A fresh PostgreSQL database gets N requests (default 1,000,000) spread over four
years with growth, and their cases (most resolved, with outcomes). Then:

* the report for one month (the same function the task and the command use),
  repeated, against the floor: one hand-written SQL GROUP BY (month, category)
  over the same rows, repeated; printed with the ratio;
* with every month's report stored, the dashboard as a signed-in coordinator
  sees it: p50/p95 server time and queries per request.

    python dev.py bench report_bench [--rows 1000000] [--repeat 10]
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

    from reports.months import bounds, current_month, shift
    from reports.services import monthly_report, months_with_requests, store_report
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

    for each in months_with_requests():
        store_report(each)
    coordinator = make_staff("bench-coordinator", "coordinator")
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    sign_in(client, coordinator)
    client.get("/staff/dashboard/")
    dashboard_s = []
    for _ in range(50):
        with CaptureQueriesContext(connection) as dashboard_queries:
            begun = time.perf_counter()
            response = client.get("/staff/dashboard/")
            dashboard_s.append(time.perf_counter() - begun)
        assert response.status_code == 200
    return {
        "rows": rows,
        "fill_s": fill_s,
        "month": report["month"],
        "month_requests": report["requests"],
        "cumulative": report["cumulative"]["requests"],
        "report_ms": statistics.median(report_s) * 1000,
        "floor_ms": statistics.median(floor_s) * 1000,
        "report_queries": len(captured),
        "dashboard": {**summary_ms(dashboard_s), "queries": len(dashboard_queries)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return

    url = fresh_postgres("bench_report", args.postgres_url)
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
    dashboard = result["dashboard"]
    print(
        f"dashboard        p50 {dashboard['p50']:.1f} ms  p95 {dashboard['p95']:.1f} ms  "
        f"max {dashboard['max']:.1f} ms  ({dashboard['queries']} queries)"
    )


if __name__ == "__main__":
    main()
