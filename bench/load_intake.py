"""
The public form under sustained load, and a check that every receipt is stored exactly once.

Loopback only and bounded in time: gunicorn with production settings, PostgreSQL
(a database of its own, `tropa_load`), Redis as cache and Celery broker (a database
number of its own, flushed at the start and the end) and one real Celery worker that
consumes the "new request" notifications. Each of `--clients` threads plays one
visitor after another: a fresh cookie jar, GET / for the security token and its
cookie, then POST of the form. The per-sender limit is off (every client is
127.0.0.1); the global ceiling is raised, not removed, so its Redis counter is
still paid on every submission.

Reported: submissions/s, POST latency (p50, p95, p99, max), errors by kind (HTTP
status or exception), 429s apart, the notifications the worker consumed, and the
CPU gunicorn spent per visit with the machine's load average (on a shared machine
the CPU per visit holds still while throughput follows the neighbours). Then
exactly-once: stored requests == receipts shown, per receipt selector as many rows
as receipts, and the full hash check (each receipt opens exactly one request) for
a random sample, or for all of them with --verify-all. Exits non-zero on failure.

    python dev.py bench load_intake [--clients 50] [--seconds 60] [--workers N] [--verify-all]
"""

import argparse
import http.client
import json
import os
import random
import re
import runpy
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_postgres, percentile, production_env, run_child
from bench.http_load import TOKEN, Client, gunicorn

DATABASE = "tropa_load"
REDIS_URL = "redis://127.0.0.1:6379/7"
# Far above anything loopback can reach: the ceiling is counted, never hit.
GLOBAL_CEILING = "1000000/h"
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Tally:
    """What the visitors saw; shared by the client threads under one lock."""

    post_latencies: list[float] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    refused: int = 0  # 429: the rate limit said no
    unanswered: int = 0  # POSTs lost in transit: stored or not, no receipt was seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posted(self, seconds: float, status: int, receipt: str | None) -> None:
        with self.lock:
            self.post_latencies.append(seconds)
            if receipt:
                self.receipts.append(receipt)
            elif status == 429:
                self.refused += 1
            else:
                self.errors[f"POST {status}" + (" without receipt" if status == 200 else "")] += 1

    def failed(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


def one_visit(client: Client, tally: Tally) -> None:
    """A new visitor: empty cookie jar, GET the form, POST it."""
    client.cookie = ""
    try:
        status, page = client._request("GET", "/")
    except TRANSPORT_ERRORS as error:
        tally.failed(f"GET {type(error).__name__}")
        return
    match = TOKEN.search(page)
    if status != 200 or not match:
        tally.failed(f"GET {status}" + ("" if status != 200 else " without token"))
        return
    client.token = match.group(1)
    started = time.perf_counter()
    try:
        status, receipt = client.submit()
    except TRANSPORT_ERRORS as error:
        # The request may or may not have been stored: exactly-once counts these apart.
        tally.failed(f"POST {type(error).__name__}")
        with tally.lock:
            tally.unanswered += 1
        return
    tally.posted(time.perf_counter() - started, status, receipt)


def load(host: str, port: int, clients: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    began = time.perf_counter()
    deadline = began + seconds

    def visitor() -> None:
        client = Client(host, port)
        while time.perf_counter() < deadline:
            try:
                one_visit(client, tally)
            except Exception as error:  # counted, and the visitor goes on: load stays constant
                tally.failed(f"client {type(error).__name__}")

    def progress() -> None:
        while (left := deadline - time.perf_counter()) > 0:
            time.sleep(min(10, left))
            with tally.lock:
                done, errors = len(tally.receipts), sum(tally.errors.values())
            print(f"  {time.perf_counter() - began:5.0f} s: {done} receipts, {errors} errors",
                  flush=True)  # fmt: skip

    threads = [threading.Thread(target=visitor) for _ in range(clients)]
    threads.append(threading.Thread(target=progress, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join()
    return tally, time.perf_counter() - began


@contextmanager
def celery_worker(env: dict, log_path: Path):
    """One `celery -A config worker` on the same settings; stopped warmly at the end."""
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(600):
            if "ready." in log_path.read_text() or process.poll() is not None:
                break
            time.sleep(0.05)
        if process.poll() is not None or "ready." not in log_path.read_text():
            sys.exit(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        yield process
    finally:
        process.terminate()  # SIGTERM: a warm shutdown, the task in hand finishes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for_notifications(database_url: str, timeout: float) -> tuple[int, int, float]:
    """(cases, cases notified, seconds waited) once the worker has drained the queue."""
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        while True:
            total, notified = connection.execute(
                "SELECT COUNT(*), COUNT(notified_at) FROM cases_case"
            ).fetchone()
            waited = time.perf_counter() - began
            if notified == total or waited > timeout:
                return total, notified, waited
            time.sleep(0.5)


def _stat(pid: str) -> list[str] | None:
    try:
        # Fields after the command name, which may itself hold spaces or parentheses.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a live process and its live descendants (Linux /proc)."""
    stats = {pid: stat for pid in os.listdir("/proc") if pid.isdigit() and (stat := _stat(pid))}
    tick = os.sysconf("SC_CLK_TCK")
    tree, total = {str(root)}, 0.0
    for _ in range(4):  # gunicorn and Celery are two levels deep
        tree |= {pid for pid, stat in stats.items() if stat[1] in tree}
    for pid in tree & stats.keys():
        total += (int(stats[pid][11]) + int(stats[pid][12])) / tick
    return total


def gunicorn_pid() -> int:
    """Our own gunicorn master, found among this process's children."""
    for pid in os.listdir("/proc"):
        stat = pid.isdigit() and _stat(pid)
        mine = stat and stat[1] == str(os.getpid())
        if mine and b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise RuntimeError("gunicorn is not running")


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()  # this database number only, never FLUSHALL


def log_problems(path: Path) -> Counter:
    """Tracebacks, errors and timeouts a log shows, by kind."""
    found = Counter()
    for line in path.read_text(errors="replace").splitlines():
        for marker in ("Traceback", "WORKER TIMEOUT", " ERROR ", " CRITICAL ", "raised unexpected"):
            if marker in line:
                found[marker.strip()] += 1
    return found


# --- The exactly-once check, in a child with the server's settings ---------------


def matching_rows(job: tuple[str, list[tuple[int, str]]]) -> list[int]:
    """Ids of the candidate rows whose hash this receipt opens."""
    from intake import receipts

    code, candidates = job
    return [pk for pk, stored in candidates if receipts.opens(code, stored)]


def verify(receipts_path: str, sample: int, verify_all: bool) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    from cases.models import Case
    from intake import receipts
    from intake.models import HelpRequest
    from intake.services import find_by_receipt

    shown = Path(receipts_path).read_text().split()
    codes = [receipts.normalise(code) for code in shown]
    rows = list(HelpRequest.objects.values_list("pk", "receipt_selector", "receipt_hash"))
    by_selector: dict[str, list[tuple[int, str]]] = {}
    for pk, selector, stored in rows:
        by_selector.setdefault(selector, []).append((pk, stored))
    shown_per_selector = Counter(code[:4] for code in codes if code)
    stored_per_selector = Counter(selector for _, selector, _ in rows)

    checked = [code for code in codes if code]
    if not verify_all and len(checked) > sample:
        checked = random.sample(checked, sample)
    jobs = [(code, by_selector.get(code[:4], [])) for code in checked]
    connections.close_all()  # nothing shared with the pool's forked processes
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        matches = list(pool.map(matching_rows, jobs, chunksize=8))
    matched_ids = [ids[0] for ids in matches if len(ids) == 1]
    # The real lookup path, end to end, for a few of them.
    lookups_wrong = sum(
        (found := find_by_receipt(code)) is None or found.pk != ids[0]
        for code, ids in list(zip(checked, matches, strict=True))[:10]
        if len(ids) == 1
    )
    return {
        "receipts": len(shown),
        "stored": len(rows),
        "cases": Case.objects.count(),
        "malformed_receipts": codes.count(None),
        "repeated_receipts": len(codes) - len(set(codes)),
        "rows_without_receipt": sum((stored_per_selector - shown_per_selector).values()),
        "receipts_without_row": sum((shown_per_selector - stored_per_selector).values()),
        "selector_collisions": sum(n - 1 for n in stored_per_selector.values() if n > 1),
        "hash_checked": len(checked),
        "hash_opens_none": sum(len(ids) == 0 for ids in matches),
        "hash_opens_several": sum(len(ids) > 1 for ids in matches),
        "hash_same_row_twice": len(matched_ids) - len(set(matched_ids)),
        "lookups_wrong": lookups_wrong,
    }


def exactly_once(check: dict, unanswered: int) -> tuple[bool, int, int]:
    """
    (ok, duplicates, lost). Duplicates: stored rows beyond one per receipt shown
    (less the POSTs whose answer never arrived, which may be stored without a
    receipt), and receipts shown twice or opening more than one row. Lost:
    receipts that open no row, by selector for all and by hash for the checked.
    """
    duplicates = max(0, check["rows_without_receipt"] - unanswered)
    duplicates += (
        check["repeated_receipts"] + check["hash_opens_several"] + check["hash_same_row_twice"]
    )
    lost = check["malformed_receipts"]
    lost += max(check["receipts_without_row"], check["hash_opens_none"])
    ok = (
        duplicates == lost == check["lookups_wrong"] == 0
        and check["stored"] == check["receipts"]
        and check["cases"] == check["stored"]
    )
    return ok, duplicates, lost


# --- The run ------------------------------------------------------------------


def default_ceiling() -> str:
    """INTAKE_GLOBAL_LIMIT's default, as config/settings.py states it."""
    source = (ROOT / "config" / "settings.py").read_text()
    match = re.search(r'"INTAKE_GLOBAL_LIMIT",\s*"([^"]*)"', source)
    return match.group(1) if match else "?"


def default_workers() -> int:
    """What config/gunicorn.conf.py picks (GUNICORN_WORKERS, else its own default)."""
    return int(runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["workers"])


def report(args, tally: Tally, elapsed: float, notes: dict, check: dict) -> bool:
    latencies = tally.post_latencies or [0.0]
    ok, duplicates, lost = exactly_once(check, tally.unanswered)
    numbers = {
        "machine_cores": os.cpu_count(),
        "gunicorn_workers": args.workers,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "submissions": len(tally.receipts),
        "submissions_per_s": round(len(tally.receipts) / elapsed, 1),
        **{
            f"post_{name}_ms": round(percentile(latencies, fraction) * 1000, 1)
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "errors": dict(tally.errors),
        "http_429": tally.refused,
        **notes,
        "exactly_once": "OK" if ok else "FAIL",
        "duplicates": duplicates,
        "lost": lost,
        **{f"check_{key}": value for key, value in check.items()},
    }
    print(
        f"submissions: {numbers['submissions']} in {elapsed:.1f} s = "
        f"{numbers['submissions_per_s']}/s"
    )
    print(
        "POST latency ms: "
        + ", ".join(f"{name} {numbers[f'post_{name}_ms']}" for name in ("p50", "p95", "p99", "max"))
    )
    print(f"errors: {dict(tally.errors) or 'none'}; 429: {tally.refused}")
    print(
        f"load average (1 min): {numbers['load_average_before']} before, "
        f"{numbers['load_average_after']} after, on {os.cpu_count()} cores"
    )
    visits = max(1, len(tally.post_latencies))
    print(
        f"CPU: gunicorn {notes['cpu_s_gunicorn']} s ({notes['cpu_s_gunicorn'] / visits * 1000:.0f}"
        f" ms per visit, GET + POST), Celery {notes['cpu_s_celery']} s, "
        f"clients {notes['cpu_s_clients']} s"
    )
    print(
        f"notifications: {notes['cases_notified']} of {notes['cases']} cases marked notified "
        f"by the worker ({notes['notify_tasks_succeeded']} tasks succeeded), "
        f"{notes['notify_wait_s']} s after the load"
    )
    print(f"log problems: gunicorn {notes['gunicorn_log'] or 'none'}, "
          f"celery {notes['celery_log'] or 'none'}")  # fmt: skip
    print(
        f"check: {check['hash_checked']} receipts verified by hash "
        f"({'all' if check['hash_checked'] == check['receipts'] else 'random sample'}); "
        f"{check['selector_collisions']} selector collisions (4 characters: shared by design)"
    )
    if tally.unanswered:
        print(
            f"note: {tally.unanswered} POSTs got no answer; as many stored rows without a "
            "receipt may be theirs"
        )
    verdict = "OK" if ok else "FAIL"
    print(
        f"exactly-once: {verdict} ({check['receipts']} receipts, {check['stored']} stored, "
        f"{duplicates} duplicates, {lost} lost)"
    )
    print(json.dumps(numbers))
    return ok and notes["cases_notified"] == notes["cases"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="gunicorn workers (default: config/gunicorn.conf.py's)")  # fmt: skip
    parser.add_argument("--sample", type=int, default=200, help="receipts checked by hash")
    parser.add_argument("--verify-all", action="store_true", help="check every receipt by hash")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument(
        "--global-limit", default=GLOBAL_CEILING, help="INTAKE_GLOBAL_LIMIT, e.g. 600/h"
    )
    parser.add_argument("--log-dir", type=Path, help="keep gunicorn.log and celery.log here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(verify(args.child, args.sample, args.verify_all)))
        return
    if urllib.parse.urlsplit(args.redis_url).path.strip("/") in ("", "0"):
        sys.exit(f"--redis-url needs a database number of the bench's own (it is flushed), "
                 f"not {args.redis_url}")  # fmt: skip
    for name in ("clients", "seconds", "workers", "sample"):
        if getattr(args, name) <= 0:
            sys.exit(f"--{name} must be positive, not {getattr(args, name)}")

    load_before = round(os.getloadavg()[0], 2)
    database_url = fresh_postgres(DATABASE, args.postgres_url)
    flush_redis(args.redis_url)
    env = production_env(database_url, INTAKE_RATE_LIMIT="0", INTAKE_GLOBAL_LIMIT=args.global_limit)
    env["REDIS_URL"] = args.redis_url  # production_env drops it; here it is wanted
    print(
        f"machine: {os.cpu_count()} cores; gunicorn {args.workers} workers (sync); "
        f"{args.clients} clients for {args.seconds:.0f} s; PostgreSQL {DATABASE}, "
        f"Redis {args.redis_url} (cache + broker), 1 Celery worker"
    )
    print(
        f"limits: INTAKE_RATE_LIMIT=0 (per sender off: all clients are 127.0.0.1); "
        f"INTAKE_GLOBAL_LIMIT {default_ceiling()} by default, here {args.global_limit}"
        + (" (raised: counted, never reached)" if args.global_limit == GLOBAL_CEILING else "")
    )
    with tempfile.TemporaryDirectory(prefix="tropa_load_") as scratch:
        scratch = Path(scratch)
        logs = args.log_dir or scratch
        logs.mkdir(parents=True, exist_ok=True)
        with (
            gunicorn(env, args.workers, log_path=logs / "gunicorn.log") as (host, port),
            celery_worker(env, logs / "celery.log") as worker,
        ):
            server = gunicorn_pid()
            cpu = (tree_cpu(server), tree_cpu(worker.pid), time.process_time())
            tally, elapsed = load(host, port, args.clients, args.seconds)
            load_after = round(os.getloadavg()[0], 2)
            gunicorn_cpu = tree_cpu(server) - cpu[0]
            client_cpu = time.process_time() - cpu[2]
            cases, notified, waited = wait_for_notifications(database_url, timeout=120)
            celery_cpu = tree_cpu(worker.pid) - cpu[1]
        notes = {
            # The machine may be shared: a busy neighbour shows here, not in the numbers.
            "load_average_before": load_before,
            "load_average_after": load_after,
            # CPU seconds during the load (Celery: until drained); PostgreSQL's not counted.
            "cpu_s_gunicorn": round(gunicorn_cpu, 1),
            "cpu_s_celery": round(celery_cpu, 1),
            "cpu_s_clients": round(client_cpu, 1),
            "cases": cases,
            "cases_notified": notified,
            "notify_wait_s": round(waited, 1),
            "notify_tasks_succeeded": (logs / "celery.log").read_text().count("succeeded in"),
            "gunicorn_log": dict(log_problems(logs / "gunicorn.log")),
            "celery_log": dict(log_problems(logs / "celery.log")),
        }
        receipts_path = scratch / "receipts.txt"
        receipts_path.write_text("\n".join(tally.receipts))
        extra = ["--sample", str(args.sample)] + (["--verify-all"] if args.verify_all else [])
        check = run_child(__file__, [str(receipts_path), *extra], env)
    flush_redis(args.redis_url)
    if not report(args, tally, elapsed, notes, check):
        sys.exit(1)


if __name__ == "__main__":
    main()
