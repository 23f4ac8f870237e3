"""
A right receipt code's answer while a flood of wrong ones arrives (the fourth
review's item 1), through gunicorn in the onion instance's shape: no
per-sender limit (STATUS_RATE_LIMIT=0), the shared ceiling at its default.

Starts gunicorn with production settings (PostgreSQL; Redis as cache when
reachable), stores one request, then sends wrong codes at a steady rate (by
default 3,000 a minute) for a while, and meanwhile looks the right code up
once a second. Prints the wrong codes' answers (404-like "no request
matches", or 429 past the ceiling) and the right code's answer times; exits
non-zero if the right code was ever refused.

    python dev.py bench status_flood_bench [--seconds 60] [--per-minute 3000]
        [--workers 3] [--database bench_status] [--redis-url redis://127.0.0.1:6379/15]
"""

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, percentile, production_env, summary_ms
from bench.http_load import Client, Results, gunicorn
from bench.intake_bench import redis_reachable


def junk(host: str, port: int, per_minute: int, seconds: float, results: Results) -> None:
    """Wrong codes, paced evenly over the run by a few clients."""
    clients = 4
    interval = 60.0 * clients / per_minute
    deadline = time.perf_counter() + seconds

    def work(offset: float) -> None:
        client = Client(host, port)
        client.prepare()
        next_at = time.perf_counter() + offset
        while next_at < deadline:
            time.sleep(max(0.0, next_at - time.perf_counter()))
            started = time.perf_counter()
            try:
                status, _ = client.look_up("JUNK-JUNK-JUNK-JUNK-JUNK")
            except OSError:
                results.errors += 1
            else:
                results.add(time.perf_counter() - started, status)
            next_at += interval

    threads = [
        threading.Thread(target=work, args=(n * interval / clients,)) for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--per-minute", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_status")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    database_url = fresh_postgres(args.database, args.postgres_url)
    extra = {"STATUS_RATE_LIMIT": "0", "INTAKE_RATE_LIMIT": "0"}
    if redis_reachable():
        extra["REDIS_URL"] = args.redis_url
    env = production_env(database_url, **extra)
    if "REDIS_URL" in extra:
        env["REDIS_URL"] = extra["REDIS_URL"]
    wrong, right = Results(), Results()
    with gunicorn(env, workers=args.workers) as (host, port):
        person = Client(host, port)
        person.prepare()
        status, code = person.submit()
        if status != 200 or not code:
            sys.exit(f"the form answered {status} without a receipt")
        flood = threading.Thread(
            target=junk, args=(host, port, args.per_minute, args.seconds, wrong)
        )
        flood.start()
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, opened = person.look_up(code)
            right.add(time.perf_counter() - started, status if opened else -status)
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
        flood.join()

    sent = sum(wrong.statuses.values())
    print(f"gunicorn: {args.workers} workers; {args.seconds:.0f} s; STATUS_RATE_LIMIT=0, "
          f"the ceiling at its default (250/5m); cache: "
          f"{'Redis' if 'REDIS_URL' in extra else 'local memory'}")  # fmt: skip
    print(f"wrong codes: {sent} sent ({sent / args.seconds * 60:.0f}/min), answers "
          f"{wrong.statuses}, p50 {percentile(wrong.latencies, 0.5) * 1000:.1f} ms")  # fmt: skip
    times = summary_ms(right.latencies)
    print(
        f"right code: {len(right.latencies)} lookups, answers {right.statuses}; p50 "
        f"{times['p50']:.1f} ms, p95 {times['p95']:.1f} ms, max {times['max']:.1f} ms"
    )
    if set(right.statuses) != {200}:
        sys.exit("FAILED: the right code was refused or did not open its request")


if __name__ == "__main__":
    main()
