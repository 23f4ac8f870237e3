"""
Fault: Redis (broker and cache) stops while people submit the public form.

gunicorn and a Celery worker run as in production against our own
redis-server; visitors keep submitting the form over HTTP (a GET for the
token, then the POST) while Redis is stopped for a few seconds and started
again, empty, on the same port. Every submission must still get its receipt
and be stored; the app must log that rate limiting is unavailable and that a
notification could not be queued; /healthz must say Redis is down, then
recover without restarting anything. Notifications lost with Redis are sent
by the periodic sweep (`intake.notify_pending_cases`, sent here by hand):
in the end every case has `notified_at`.

    .venv/bin/python -m bench.faults.redis_down
"""

import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.faults.common import (
    Checks,
    RedisServer,
    Visitors,
    app_env,
    check_no_worker_restarted,
    drop_database,
    pending_notifications,
    prepare_app,
    receipts_match_database,
    run_scenario,
    scenario_database,
    start_app,
    step,
    summarise,
    sweep_notifications,
    wait_for,
)

DATABASE = "tropa_fault_redis"
BEFORE_SECONDS, DOWN_SECONDS, AFTER_SECONDS = 3, 6, 4
RATE_LIMIT_WARNING = "rate limiting is unavailable (cache unreachable)"
NOTIFY_WARNING = "could not queue notification for case"
SLOW_SECONDS = 5  # form and receipt together; a visitor over Tor gives up soon after


def scenario(checks: Checks, workdir: Path) -> None:
    database_url = scenario_database(DATABASE)
    with ExitStack() as stack:
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(lambda: redis.stop())  # whichever redis-server runs at the end
        env = app_env(database_url, redis.url)
        step(f"database {DATABASE}: migrate, collect static files")
        prepare_app(env)
        web, worker = start_app(stack, checks, env, workdir)
        checks.logs.append(redis.log_path)
        step(f"gunicorn ({web.workers} workers) and a Celery worker up; Redis on {redis.port}")

        visitors = Visitors("127.0.0.1", web.port, count=4).start()
        stack.callback(visitors.stop)
        time.sleep(BEFORE_SECONDS)
        redis.stop()
        down_at = time.monotonic()
        step(f"redis-server stopped ({len(visitors.attempts)} submissions so far)")
        time.sleep(1)
        status, health = web.healthz()
        step(f"/healthz with Redis down: {status} {health}")
        checks.check(
            status == 503 and health.get("checks", {}).get("redis") is False,
            "/healthz reports Redis down (503, redis false)",
        )
        checks.check(health.get("checks", {}).get("database") is True, "and the database up")
        time.sleep(DOWN_SECONDS - 1)

        redis = RedisServer(workdir, port=redis.port)
        redis.start()
        up_at, up_wall = time.monotonic(), time.time()
        step(f"redis-server started again, empty, on {redis.port}")
        healthy = wait_for(lambda: web.healthz()[0] == 200, 10, 0.2)
        step(f"/healthz: {web.healthz()}")
        checks.check(bool(healthy), "/healthz is OK again without restarting the app")
        time.sleep(AFTER_SECONDS)
        attempts = visitors.stop()
        step(f"visitors stopped: {summarise(attempts)}")

        during = [a for a in attempts if down_at <= a.started and a.finished <= up_at]
        after = [a for a in attempts if a.started >= up_at]
        checks.check(all(a.receipt for a in attempts), "every submission got its receipt page")
        checks.check(
            len(during) >= 3, "submissions made entirely while Redis was down", len(during)
        )
        slowest = max((a.finished - a.started for a in attempts), default=0)
        checks.check(
            slowest < SLOW_SECONDS, "none kept its visitor waiting", f"{slowest:.1f} s max"
        )
        checks.check(len(after) >= 3, "submissions after Redis came back", len(after))
        receipts_match_database(checks, database_url, attempts)
        log = web.log()
        checks.check(RATE_LIMIT_WARNING in log, "log: rate limiting unavailable, request allowed")
        checks.check(NOTIFY_WARNING in log, "log: notification could not be queued")
        check_no_worker_restarted(checks, web)

        # Cases that arrived after Redis came back are announced by the worker as usual.
        fresh = wait_for(lambda: pending_notifications(database_url, up_wall + 1) == 0, 20, 0.5)
        checks.check(bool(fresh), "new cases after the outage are notified without the sweep")
        missed = pending_notifications(database_url)
        step(f"cases whose notification was lost with Redis: {missed}; sending the sweep")
        checks.check(missed > 0, "the outage left notifications for the sweep", missed)
        sweep_notifications(stack, checks, redis.url, worker, database_url)
    if not checks.failures:
        drop_database(DATABASE)


def main() -> int:
    return run_scenario("redis_down", scenario)


if __name__ == "__main__":
    sys.exit(main())
