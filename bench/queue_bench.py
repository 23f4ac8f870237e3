"""
Triage queue, Due view and case page: server time and query count at scale, on PostgreSQL.

For each size (default 100,000 and 1,000,000 cases) a fresh database is filled
with requests and cases shaped like real work (most cases closed, a few
percent open in every open state, some assigned), then a signed-in caseworker
requests the pages through Django's test client with production settings.
Reported per page: p50, p95 and max server time in ms, and queries per request;
the case page opens its request, five notes and fifteen messages with the
caseworker's session keys. Also the key unlock of a sign-in (Argon2id at the
production cost, then the grants opened); search by a whole reference (which
opens the case: 302) and by its first three characters (a page of matches);
the New view with its menu counts kept and counted afresh; and a bulk triage
of 50 cases from the queue (one POST, each case moved and audited).

    python dev.py bench queue_bench [--sizes 100000,1000000] [--requests 100]
        [--database bench_queue]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, production_env, run_child, summary_ms

# Rows are generated in SQL: the queue never decrypts, so encrypted columns stay empty
# (the one case whose page is measured gets real encrypted content).
FILL_SQL = """
INSERT INTO intake_helprequest
    (reference, reference_key, received_at, channel, category, service_status, location, urgency,
     legal_articles, language, contact_fingerprint, receipt_selector, receipt_hash)
SELECT 'GL-' || substr(h, 1, 4) || '-' || substr(h, 5, 4), 'GL' || h,
       now() - (n % 1460) * interval '1 day' - (n % 86400) * interval '1 second',
       (ARRAY['web','telegram','signal','email','phone','other'])[1 + n % 6],
       (ARRAY['desertion','border_crossing','consultation','consultation'])[1 + n % 4],
       (ARRAY['mobilised','contract_wartime','conscript','civilian'])[1 + n % 4],
       (ARRAY['home_country','front_line','abroad'])[1 + n % 3],
       (ARRAY['low','normal','high','critical'])[1 + (n / 7) % 4],
       '338', 'ru', '', '', ''
FROM generate_series(1, %(rows)s) AS n,
     -- References like real ones (GL-XXXX-XXXX), unique: n scrambled by an odd
     -- multiplier modulo 2^32 is a bijection, written in hex (Crockford's too).
     LATERAL (SELECT upper(lpad(to_hex((n::bigint * 2654435761) % 4294967296), 8, '0'))) AS r(h);

INSERT INTO cases_case
    (request_id, state, outcome, priority, resolved_at, closed_at, created_at, updated_at,
     assigned_to_id)
SELECT r.id,
       CASE WHEN r.id % 100 < 4 THEN (ARRAY['new','triaged','in_progress','waiting'])[1 + r.id % 4]
            WHEN r.id % 100 < 8 THEN 'rejected' ELSE 'closed' END,
       CASE WHEN r.id % 100 >= 8 THEN 'consultation_given' ELSE '' END,
       CASE r.urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
       CASE WHEN r.id % 100 >= 8 THEN r.received_at + interval '10 days' END,
       CASE WHEN r.id % 100 >= 4 THEN r.received_at + interval '10 days' END,
       r.received_at, now(),
       CASE WHEN r.id % 3 = 0 THEN %(worker)s END
FROM intake_helprequest r;
"""

# The Due view (issue 13): a fifth of the triaged, in-progress and waiting cases
# have a follow-up day from 40 days ago to 20 days ahead; waiting cases have
# waited up to 30 days (past WAITING_FLAG_DAYS, 7, most are due).
DUE_FILL_SQL = """
UPDATE cases_case SET follow_up_on = (now() + ((id % 61) - 40) * interval '1 day')::date
WHERE state IN ('triaged', 'in_progress', 'waiting') AND (id / 100) % 5 = 0;
UPDATE cases_case SET waiting_since = now() - (id % 30) * interval '1 day' - interval '1 hour'
WHERE state = 'waiting';
"""
DUE_SCENARIOS = {
    "due mine": "/staff/due/",
    "due everyone": "/staff/due/?scope=all",
    "due everyone page 20": "/staff/due/?scope=all&page=20",
}

SCENARIOS = {
    "queue": "/staff/",
    "queue mine": "/staff/?assignee=mine",
    "queue critical desertion": "/staff/?urgency=critical&category=desertion",
    "queue page 20": "/staff/?page=20",
    "queue high": "/staff/?urgency=high",
    "new view": "/staff/new/",
}
BULK_SIZE = 50
BULK_ROUNDS = 10


def child(rows: int, requests: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from cases.models import Case
    from cases.services import add_note, reply_to_requester
    from encryption import services as key_services
    from intake.models import HelpRequest
    from intake.services import RequestRecord, post_requester_message, submit_request
    from tests import content_keys
    from tests.staffing import PASSWORD, make_staff, sign_in

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # production static files
    content_keys.start()  # the organisation key, as the first caseworker made it
    worker = make_staff("bench-worker", "caseworker")  # with access, production Argon2id cost
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            FILL_SQL.replace("%(rows)s", str(rows)).replace("%(worker)s", str(worker.user.pk))
        )
        cursor.execute(DUE_FILL_SQL)
    fill_s = time.perf_counter() - started
    # What autovacuum does on a live server after a bulk load.
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    measured = submit_request(
        RequestRecord(
            received_at=django.utils.timezone.now(),
            channel="web", category="desertion", service_status="mobilised",
            location="front_line", urgency="critical", legal_articles=["338"],
            contact="@bench_contact", narrative="A narrative to decrypt. " * 40,
            unit="unit 00000", precise_location="somewhere",
        )
    )  # fmt: skip
    # A case worked for a while: every note and message is opened on its page.
    case = Case.objects.get(request=measured.help_request)
    for n in range(5):
        add_note(case, f"Note {n}: called back, arranged the next step. " * 4, author=worker.user)
        reply_to_requester(case, f"Reply {n} to the requester. " * 6, author=worker.user)
        post_requester_message(measured.help_request, f"Message {n} from the requester. " * 6)

    # The key unlock of a sign-in: Argon2id on the password, then each grant opened.
    unlocks = []
    for _ in range(20):
        begun = time.perf_counter()
        assert key_services.unlock(worker.user, PASSWORD)
        unlocks.append(time.perf_counter() - begun)

    # As behind the TLS reverse proxy, which sets this header.
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    sign_in(client, worker)
    reference = measured.help_request.reference
    some = HelpRequest.objects.order_by("pk").values_list("reference", flat=True)[rows // 2]
    scenarios = dict(
        SCENARIOS,
        **DUE_SCENARIOS,
        **{
            "case page": f"/staff/cases/{reference}/",
            "search whole reference": f"/staff/search/?q={some.lower()}",
        },
    )
    results = {}
    for name, url in scenarios.items():
        results[name] = measure(client, url, requests)
    # A beginning is answered in the POST itself (never put in an address).
    results["search 3 characters"] = measure(
        client, "/staff/search/", requests, data={"q": some[3:6].lower()}
    )
    # The menu's counts are kept a few seconds: here counted afresh each time.
    results["new view, counts afresh"] = measure(client, "/staff/new/", requests, cache.clear)
    results["bulk triage of 50"] = bulk_triage(client)
    results["sign-in key unlock"] = {**summary_ms(unlocks), "queries": 0}
    return {"rows": rows, "fill_s": fill_s, "results": results}


def measure(client, url: str, requests: int, before=None, data=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def fetch():
        return client.post(url, data) if data is not None else client.get(url)

    fetch()  # warm caches and connections
    samples, queries = [], set()
    for _ in range(requests):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            begun = time.perf_counter()
            response = fetch()
            samples.append(time.perf_counter() - begun)
        assert response.status_code in (200, 302), (url, response.status_code)
        queries.add(len(captured))
    return {**summary_ms(samples), "queries": "/".join(str(q) for q in sorted(queries))}


def bulk_triage(client) -> dict:
    """Each round, 50 new cases from the queue triaged in one POST."""
    from cases.models import Case

    samples = []
    for _ in range(BULK_ROUNDS):
        chosen = list(
            Case.objects.filter(state="new", flood__isnull=True)
            .order_by("-created_at")
            .values_list("request__reference", flat=True)[:BULK_SIZE]
        )
        begun = time.perf_counter()
        response = client.post(
            "/staff/bulk/", {"selected": chosen, "action": "triage", "back": "queue"}
        )
        samples.append(time.perf_counter() - begun)
        assert response.status_code == 302
        assert Case.objects.filter(request__reference__in=chosen, state="triaged").count() == 50
    return {**summary_ms(samples), "queries": "-"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_queue", help="a scratch database, dropped")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.requests)))
        return

    print(f"{'cases':>10}  {'page':<26} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        url = fresh_postgres(args.database, args.postgres_url)
        result = run_child(
            __file__, [str(size), "--requests", str(args.requests)], production_env(url)
        )
        for name, numbers in result["results"].items():
            print(
                f"{size:>10,}  {name:<26} {numbers['p50']:>7.1f} {numbers['p95']:>7.1f} "
                f"{numbers['max']:>7.1f} {numbers['queries']:>8}"
            )


if __name__ == "__main__":
    main()
