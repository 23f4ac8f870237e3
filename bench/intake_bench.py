"""
Form submissions per second through gunicorn, next to a trivial view.

Starts gunicorn with production settings on this machine (PostgreSQL, and Redis
as broker and cache when reachable; rate limits off so that the server, not the
limit, is measured), lets concurrent browser-like clients submit the public form
for a while, then looks the receipts up at /status/, then does the same against
/robots.txt, a view that does nothing. Prints submissions/s and lookups/s,
p50/p95 latency, the ratio, and checks that every submission that got a receipt
is stored and that every lookup opened its request.

    python dev.py bench intake_bench [--seconds 20] [--clients 8] [--workers 3]
        [--database bench_intake] [--redis-url redis://127.0.0.1:6379/15]
"""

import argparse
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, percentile, production_env
from bench.http_load import gunicorn, run


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def stored_count(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT COUNT(*) FROM intake_helprequest").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--database", default="bench_intake", help="database to drop and create for the run"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    database_url = fresh_postgres(args.database, args.postgres_url)
    extra = {
        "INTAKE_RATE_LIMIT": "0",
        "INTAKE_GLOBAL_LIMIT": "0",
        "STATUS_RATE_LIMIT": "0",
        "STATUS_GLOBAL_LIMIT": "0",
    }
    if redis_reachable():
        extra["REDIS_URL"] = args.redis_url
    env = production_env(database_url, **extra)
    if "REDIS_URL" in extra:
        env["REDIS_URL"] = extra["REDIS_URL"]
    with gunicorn(env, workers=args.workers) as (host, port):
        submitted, submit_s = run(host, port, args.clients, args.seconds, "submit")
        codes = submitted.receipts or ["0000-0000-0000-0000-0000"]
        looked_up, lookup_s = run(host, port, args.clients, args.seconds, "lookup", codes)
        trivial, trivial_s = run(host, port, args.clients, args.seconds, "/robots.txt")

    ok = submitted.statuses.get(200, 0)
    rate = ok / submit_s
    lookup_rate = looked_up.statuses.get(200, 0) / lookup_s
    trivial_rate = trivial.statuses.get(200, 0) / trivial_s
    stored = stored_count(database_url)
    print(f"gunicorn: {args.workers} workers; {args.clients} clients; {args.seconds:.0f} s each")
    print(
        f"broker/cache: {'Redis' if 'REDIS_URL' in extra else 'none (eager Celery, local cache)'}"
    )
    print(f"{'':<14} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'statuses'}")
    for name, results, per_second in (
        ("form submit", submitted, rate),
        ("status lookup", looked_up, lookup_rate),
        ("trivial view", trivial, trivial_rate),
    ):
        print(
            f"{name:<14} {per_second:>8.1f} {percentile(results.latencies, 0.5) * 1000:>8.1f} "
            f"{percentile(results.latencies, 0.95) * 1000:>8.1f} {results.statuses} "
            f"errors={results.errors}"
        )
    print(f"ratio trivial/submit: {trivial_rate / rate:.1f}x")
    unique = len(set(submitted.receipts))
    print(f"receipts shown {len(submitted.receipts)}, stored {stored}, unique {unique}")
    opened = len(looked_up.receipts)
    print(f"lookups {sum(looked_up.statuses.values())}, opened their request {opened}")
    if stored != len(submitted.receipts):
        sys.exit("MISMATCH: a submission that got a receipt is missing, or the reverse")
    if opened != sum(looked_up.statuses.values()):
        sys.exit("MISMATCH: a receipt shown did not open its request at /status/")


if __name__ == "__main__":
    main()
