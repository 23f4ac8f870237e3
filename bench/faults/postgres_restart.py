"""
Fault: PostgreSQL restarts while people submit the public form.

The shared PostgreSQL is never restarted: the app reaches it through a TCP
proxy of ours (common.PostgresProxy), and a "restart" is what clients see of
one: every open connection is cut, then for 3 s connections are refused, then
accepted again. The cut is timed to land inside a submission's transaction,
right after its request row was inserted and before its case was.

gunicorn and a Celery worker run as in production (DATABASE_URL through the
proxy, our own redis-server); visitors keep submitting the form. Submissions
hit by the cut must get our error page (500, templates/500.html), never a
receipt for something not stored; nothing may be half-stored; after the proxy
accepts again the same gunicorn serves new submissions (CONN_HEALTH_CHECKS)
and the worker catches up with the notifications.

    .venv/bin/python -m bench.faults.postgres_restart
"""

import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.faults.common import (
    Checks,
    PostgresProxy,
    RedisServer,
    ScenarioError,
    Visitors,
    app_env,
    check_no_worker_restarted,
    drop_database,
    prepare_app,
    receipts_match_database,
    run_scenario,
    scalar,
    scenario_database,
    start_app,
    step,
    summarise,
    sweep_notifications,
    wait_for,
)

DATABASE = "tropa_fault_postgres"
REFUSE_SECONDS = 3.0
# The first statement of a submission's transaction (intake/services.py).
MID_TRANSACTION = b'INSERT INTO "intake_helprequest"'


def scenario(checks: Checks, workdir: Path) -> None:
    database_url = scenario_database(DATABASE)  # direct, for our checks
    with ExitStack() as stack:
        proxy = PostgresProxy()
        proxy.start()
        stack.callback(proxy.close)
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        env = app_env(proxy.url(DATABASE), redis.url)
        step(f"database {DATABASE} behind our proxy on port {proxy.port}: migrate, collect")
        prepare_app(env)
        web, worker = start_app(stack, checks, env, workdir)
        step(f"gunicorn ({web.workers} workers) and a Celery worker up")

        visitors = Visitors("127.0.0.1", web.port, count=4).start()
        stack.callback(visitors.stop)
        time.sleep(3)
        proxy.cut(REFUSE_SECONDS, marker=MID_TRANSACTION)
        if not wait_for(lambda: proxy.cut_at, 10, 0.01):
            raise ScenarioError("no submission reached its INSERT within 10 s")
        step(
            f"cut {proxy.connections_cut} connections, one right after a request's INSERT; "
            f"{visitors.in_flight} submissions in flight; refusing for {REFUSE_SECONDS:.0f} s"
        )
        in_flight_at_cut = visitors.in_flight
        time.sleep(0.5)
        status, health = web.healthz()
        step(f"/healthz while refused: {status} {health}")
        checks.check(
            status == 503 and health.get("checks", {}).get("database") is False,
            "/healthz reports the database down (503, database false)",
        )
        if not wait_for(lambda: proxy.reopened_at, 10, 0.01):
            raise ScenarioError("the proxy never accepted again")
        step("proxy accepts again")
        healthy = wait_for(lambda: web.healthz()[0] == 200, 10, 0.2)
        checks.check(bool(healthy), "/healthz is OK again without restarting gunicorn")
        time.sleep(4)
        attempts = visitors.stop()
        step(f"visitors stopped: {summarise(attempts)}")

        unclear = [a for a in attempts if not (a.receipt or a.error_page)]
        failed = [a for a in attempts if a.error_page]
        after = [a for a in attempts if a.started >= proxy.reopened_at]
        checks.check(not unclear, "every answer is a receipt or our error page", len(unclear))
        checks.check(bool(failed), "submissions hit by the restart got the error page", len(failed))
        checks.check(
            all(a.started >= proxy.cut_at - 2 and a.finished <= proxy.reopened_at + 2
                for a in failed),
            "error pages only around the restart",
        )  # fmt: skip
        checks.check(
            len(after) >= 3 and all(a.receipt for a in after),
            "every submission after the restart got its receipt",
            f"{sum(1 for a in after if a.receipt)} / {len(after)}",
        )
        # A request already past its INSERT cannot commit; one at its COMMIT when
        # the connection was cut may be stored without its sender seeing it.
        receipts_match_database(checks, database_url, attempts, unanswered=in_flight_at_cut)
        # Sequences are not rolled back: the request inserted before the cut left its id.
        gaps = scalar(database_url, """
            SELECT COUNT(*) FROM generate_series(1, (SELECT MAX(id) FROM intake_helprequest)) n
            WHERE NOT EXISTS (SELECT 1 FROM intake_helprequest r WHERE r.id = n)
        """)  # fmt: skip
        checks.check(gaps >= 1, "the request inserted before the cut was rolled back", gaps)
        check_no_worker_restarted(checks, web)

        # Notifications queued just before the cut fail on the database and are retried.
        sweep_notifications(stack, checks, redis.url, worker, database_url)
    if not checks.failures:
        drop_database(DATABASE)


def main() -> int:
    return run_scenario("postgres_restart", scenario)


if __name__ == "__main__":
    sys.exit(main())
