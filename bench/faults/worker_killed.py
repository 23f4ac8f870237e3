"""
Fault: the Celery worker is killed (SIGKILL) in the middle of a monthly report.

A worker started as in production takes `reports.generate_monthly_report` for
last month. This script holds an ACCESS EXCLUSIVE lock on the reports table, so
the task stalls inside `store_report`; once PostgreSQL shows the worker's query
waiting on that lock, the worker is killed and the lock released. The task was
acknowledged late, so a new worker takes it back from Redis after the
visibility timeout (CELERY_VISIBILITY_TIMEOUT=5 here, for both workers) and
stores the report. Passes when exactly one report is stored for the month and
its figures equal `monthly_report` computed directly.

Our own redis-server is the broker; the database is our own.

    .venv/bin/python -m bench.faults.worker_killed
"""

import json
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.faults.common import (
    CeleryWorker,
    Checks,
    RedisServer,
    ScenarioError,
    app_env,
    broker,
    create_first_caseworker,
    drop_database,
    finished,
    manage,
    rows,
    run_scenario,
    scalar,
    scenario_database,
    step,
    wait_for,
)

DATABASE = "tropa_fault_worker"
VISIBILITY_TIMEOUT = "5"


def last_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


def waiting_on_reports(database_url: str) -> list[tuple]:
    """Sessions of our database stuck behind our lock on the reports table."""
    return rows(
        database_url,
        "SELECT pid, left(query, 80) FROM pg_stat_activity WHERE datname = %s "
        "AND wait_event_type = 'Lock' AND query ILIKE %s",
        (DATABASE, "%reports_monthlyreport%"),
    )


def unacked_since(redis_url: str) -> float | None:
    """When the oldest unacknowledged task was delivered (kombu's unacked_index), or None."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        oldest = client.zrange("unacked_index", 0, 0, withscores=True)
    finally:
        client.close()
    return oldest[0][1] if oldest else None


def stored_reports(database_url: str, month: str) -> int:
    return scalar(
        database_url,
        "SELECT COUNT(*) FROM reports_monthlyreport WHERE to_char(month, 'YYYY-MM') = %s",
        (month,),
    )


def scenario(checks: Checks, workdir: Path) -> None:
    import psycopg

    month = last_month()
    database_url = scenario_database(DATABASE)
    with ExitStack() as stack:
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        env = app_env(database_url, redis.url, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
        step(f"database {DATABASE}: migrate and seed two months of demo requests")
        manage(env, "migrate", "-v0")
        create_first_caseworker(env)
        manage(env, "seed_demo", "--months", "2")
        expected = json.loads(manage(env, "monthly_report", month, "--json"))
        step(f"report for {month} computed directly: {expected['requests']} requests")

        first = CeleryWorker(env, workdir, "first")
        checks.logs.append(first.log_path)
        first.start()
        stack.callback(first.stop)
        step("first worker ready (solo pool, visibility timeout 5 s)")

        blocker = psycopg.connect(database_url)
        stack.callback(blocker.close)
        blocker.execute("LOCK TABLE reports_monthlyreport IN ACCESS EXCLUSIVE MODE")
        client = broker(redis.url)
        stack.callback(client.close)
        task = client.send_task("reports.generate_monthly_report", args=[month])
        step(f"reports table locked; sent generate_monthly_report({month!r}) id {task.id}")

        waiting = wait_for(lambda: waiting_on_reports(database_url), 30)
        if not waiting:
            raise ScenarioError("the task never reached store_report (no query waiting on lock)")
        step(f"the task is inside store_report: backend {waiting[0][0]} waits on our lock")
        first.kill()
        step("first worker killed with SIGKILL")
        blocker.rollback()
        step("lock released")
        checks.check(f"[{task.id}] received" in first.log(), "the first worker had received it")
        checks.check(not finished(first, task.id), "and never finished it")
        checks.check(stored_reports(database_url, month) == 0, "nothing stored by the killed one")

        # kombu scans the unacknowledged set when a worker starts and then only about
        # every 100 s (unacked_restore_interval x unacked_restore_throttle), so the
        # new worker starts once the task is older than the visibility timeout.
        delivered = unacked_since(redis.url)
        checks.check(delivered is not None, "the task waits in Redis's unacknowledged set")
        if delivered is not None:
            pause = delivered + float(VISIBILITY_TIMEOUT) + 0.5 - time.time()
            step(f"waiting {max(pause, 0):.1f} s for its visibility timeout to pass")
            time.sleep(max(pause, 0))

        second = CeleryWorker(env, workdir, "second")
        checks.logs.append(second.log_path)
        second.start()
        stack.callback(second.stop)
        step("second worker ready; waiting for the task to come back from Redis")
        done = wait_for(lambda: finished(second, task.id), 30, 0.2)
        step("second worker finished the task" if done else "the task never came back")
        checks.check(bool(done), "a restarted worker completed the task")
        checks.check(unacked_since(redis.url) is None, "and acknowledged it: nothing left unacked")

        count = stored_reports(database_url, month)
        checks.check(count == 1, f"exactly one MonthlyReport for {month}", count)
        stored = scalar(
            database_url,
            "SELECT data FROM reports_monthlyreport WHERE to_char(month, 'YYYY-MM') = %s",
            (month,),
        )
        checks.check(stored == expected, "its figures equal monthly_report computed directly")
        runs = second.log().count(f"[{task.id}] received")
        checks.check(runs >= 1, "deliveries to the second worker", runs)
    if not checks.failures:
        drop_database(DATABASE)


def main() -> int:
    return run_scenario("worker_killed", scenario)


if __name__ == "__main__":
    sys.exit(main())
