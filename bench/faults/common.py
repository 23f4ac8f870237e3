"""
What the fault scenarios share: the app started as in production, the parts
they break, visitors submitting the public form, and the checks they print.

Nothing here touches the machine's own PostgreSQL or Redis beyond one fresh
database per scenario: the Redis that a scenario stops is its own
`redis-server` on a free port, and the PostgreSQL that "restarts" is a proxy of
ours in front of the real one (see PostgresProxy). Other people and CI use the
shared services at the same time.
"""

import asyncio
import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DEFAULT_POSTGRES, ROOT, fresh_postgres, production_env
from bench.http_load import FORM, RECEIPT, TOKEN, free_port

STARTED = time.monotonic()
# The words of templates/500.html that promise the requester nothing was kept.
ERROR_PAGE_WORDS = ("Something went wrong", "most likely not saved")


class ScenarioError(Exception):
    """A step that has to work for the scenario to go on did not."""


def step(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1):
    """The predicate's first true value within `timeout` seconds, or None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class Checks:
    """The scenario's verdicts, printed as they are made."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[str] = []
        self.logs: list[Path] = []

    def check(self, ok: bool, what: str, detail: object = "") -> bool:
        suffix = f" ({detail})" if detail != "" else ""
        print(f"    {'ok  ' if ok else 'FAIL'} {what}{suffix}", flush=True)
        if not ok:
            self.failures.append(what)
        return ok


def run_scenario(name: str, body: Callable[[Checks, Path], None]) -> int:
    """Run `body(checks, workdir)`; print the verdict; 0 when every check passed."""
    # Stopped from outside (run_all's timeout): unwind, so our servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{name}: stopped by SIGTERM"))
    checks = Checks(name)
    workdir = Path(tempfile.mkdtemp(prefix=f"tropa-fault-{name}-"))
    step(f"scenario {name} (logs in {workdir})")
    try:
        body(checks, workdir)
    except ScenarioError as error:
        checks.check(False, f"scenario could not go on: {error}")
    except (KeyboardInterrupt, SystemExit) as stop:
        checks.check(False, f"scenario stopped from outside: {stop!r}")
    except Exception:
        traceback.print_exc()
        checks.check(False, "scenario crashed")
    elapsed = time.monotonic() - STARTED
    if checks.failures:
        for log in checks.logs:
            _print_tail(log)
        print(f"RESULT {name}: FAILED {len(checks.failures)} check(s) in {elapsed:.1f} s; "
              f"logs kept in {workdir}", flush=True)  # fmt: skip
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"RESULT {name}: recovered, nothing lost ({elapsed:.1f} s)", flush=True)
    return 0


def _print_tail(path: Path, lines: int = 40) -> None:
    if not path.exists():
        return
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    print(f"--- last {len(tail)} lines of {path}", *tail, sep="\n", flush=True)


# --- databases -----------------------------------------------------------------


def scenario_database(name: str) -> str:
    """A fresh database of our own on the machine's PostgreSQL; its URL."""
    return fresh_postgres(name, DEFAULT_POSTGRES)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(DEFAULT_POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(database_url: str, query: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as connection:
        return connection.execute(query, params).fetchall()


def scalar(database_url: str, query: str, params: tuple = ()):
    return rows(database_url, query, params)[0][0]


def app_env(database_url: str, redis_url: str, **extra: str) -> dict:
    """Production settings (DEBUG off, real keys) with Redis as broker and cache.

    Build it once per scenario: gunicorn and the workers must share its keys.
    Rate limits stay on (so the cache is used on every submission) but high
    enough that a scenario's visitors, all from 127.0.0.1, never reach them.
    """
    limits = {"INTAKE_RATE_LIMIT": "10000/h", "INTAKE_GLOBAL_LIMIT": "100000/h"}
    env = production_env(database_url, **{**limits, **extra})
    env["REDIS_URL"] = redis_url
    if "CELERY_VISIBILITY_TIMEOUT" not in extra:
        env.pop("CELERY_VISIBILITY_TIMEOUT", None)
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise ScenarioError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare_app(env: dict) -> None:
    """What a release does before starting: migrate, collect static files; and,
    on a new installation, what the operator does once before intake opens:
    create the first caseworker, which creates the organisation key
    (docs/encryption.md). Without it the form and the API answer 503."""
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    create_first_caseworker(env)


def create_first_caseworker(env: dict) -> None:
    env = {**env, "STAFF_PASSWORD": "fault-scenario-caseworker-password"}
    manage(env, "create_staff", "first-caseworker", "--role", "caseworker", "--json")


# --- processes -------------------------------------------------------------------


class Process:
    """A child process of ours with its output in a log file."""

    def __init__(self, command: list[str], env: dict | None, log_path: Path) -> None:
        self.command, self.env, self.log_path = command, env, log_path
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing handed back."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, grace: float = 15) -> None:
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()


class RedisServer(Process):
    """Our own redis-server on a free port, without persistence: stopping it loses
    every queued message and cached value, as a crashed Redis would."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                   "--dir", str(workdir)]  # fmt: skip
        super().__init__(command, None, workdir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        if not shutil.which("redis-server"):
            raise ScenarioError("redis-server is not installed (Debian package redis-server)")
        self.spawn()
        if not wait_for(self.ping, 10):
            raise ScenarioError(f"redis-server on port {self.port} did not answer")


class Gunicorn(Process):
    """The web app as production starts it: gunicorn -c config/gunicorn.conf.py."""

    def __init__(self, env: dict, workdir: Path, workers: int = 3) -> None:
        self.port = free_port()
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": "1"}  # fmt: skip
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
        super().__init__(command, env, workdir / "gunicorn.log")
        self.workers = workers

    def start(self) -> None:
        self.spawn()
        if not wait_for(lambda: self.healthz()[0] == 200, 30, 0.2):
            raise ScenarioError(f"gunicorn never answered /healthz with 200: {self.healthz()}")

    def healthz(self) -> tuple[int, dict]:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            return response.status, json.loads(body) if body.startswith(b"{") else {}
        except (OSError, http.client.HTTPException) as error:
            return 0, {"error": repr(error)}

    def booted_workers(self) -> int:
        """How many worker processes gunicorn has started (more than `workers`: a crash)."""
        return self.log().count("Booting worker")


class CeleryWorker(Process):
    """A Celery worker as production starts it, one task at a time (solo pool)."""

    def __init__(self, env: dict, workdir: Path, name: str) -> None:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                   "-l", "info", "-n", f"{name}@%h"]  # fmt: skip
        super().__init__(command, env, workdir / f"{name}.log")

    def start(self) -> None:
        self.spawn()
        if not wait_for(lambda: re.search(r"@\S+ ready\.", self.log()) or not self.running, 40):
            raise ScenarioError("the Celery worker did not get ready within 40 s")
        if not self.running:
            raise ScenarioError("the Celery worker exited at start")


def start_app(
    stack, checks: "Checks", env: dict, workdir: Path
) -> tuple["Gunicorn", "CeleryWorker"]:
    """gunicorn and one Celery worker as in production, stopped when `stack` closes."""
    web = Gunicorn(env, workdir)
    worker = CeleryWorker(env, workdir, "worker")
    checks.logs += [web.log_path, worker.log_path]
    web.start()
    stack.callback(web.stop)
    worker.start()
    stack.callback(worker.stop)
    return web, worker


def check_no_worker_restarted(checks: Checks, web: Gunicorn) -> None:
    checks.check(
        web.running and web.booted_workers() == web.workers,
        "gunicorn never restarted a worker",
        f"{web.booted_workers()} booted",
    )


def pending_notifications(database_url: str, since: float | None = None) -> int:
    """Cases not yet announced to caseworkers (created after `since`, a Unix time)."""
    query = "SELECT COUNT(*) FROM cases_case WHERE notified_at IS NULL"
    if since is None:
        return scalar(database_url, query)
    return scalar(database_url, query + " AND created_at > to_timestamp(%s)", (since,))


def sweep_notifications(
    stack, checks: Checks, redis_url: str, worker: CeleryWorker, database_url: str
) -> None:
    """Send the periodic sweep now; afterwards every case must be notified."""
    client = broker(redis_url)
    stack.callback(client.close)
    sweep = client.send_task("intake.notify_pending_cases")
    swept = wait_for(lambda: finished(worker, sweep.id), 30, 0.2)
    checks.check(bool(swept), "the worker ran the notification sweep")
    left = pending_notifications(database_url)
    checks.check(left == 0, "every case has notified_at", f"{left} without")


def broker(redis_url: str):
    """A bare Celery client for sending tasks by name, as an operator's `celery call`
    does. It keeps no results: checks look at the database and the worker's log."""
    from celery import Celery

    return Celery("tropa-faults", broker=redis_url)


def finished(worker: CeleryWorker, task_id: str) -> bool:
    return f"[{task_id}] succeeded" in worker.log()


# --- visitors --------------------------------------------------------------------


@dataclass
class Attempt:
    """One visitor's try: a GET for the form, then the POST (unless the GET failed)."""

    started: float
    finished: float
    stage: str  # "POST" when the form was sent; "GET" or "connection" when it was not
    status: int  # 0 when the server gave no HTTP answer
    page: str

    @property
    def receipt(self) -> str | None:
        match = RECEIPT.search(self.page) if self.stage == "POST" and self.status == 200 else None
        return match.group(1) if match else None

    @property
    def error_page(self) -> bool:
        """Our 500 page: the requester is told plainly that nothing was kept."""
        return self.status in (500, 503) and all(word in self.page for word in ERROR_PAGE_WORDS)


def submit_form(host: str, port: int, timeout: float = 30) -> Attempt:
    """A new visitor (no cookies) fills in the public form, as a browser behind the TLS proxy."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"X-Forwarded-Proto": "https", "Host": f"{host}:{port}"}
    stage = "GET"
    try:
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        page = response.read().decode("utf-8", "replace")
        token = TOKEN.search(page)
        cookie = next(
            (value.split(";")[0] for name, value in response.getheaders()
             if name.lower() == "set-cookie" and value.startswith("csrftoken=")),
            "",
        )  # fmt: skip
        if response.status != 200 or not token or not cookie:
            return Attempt(started, time.monotonic(), stage, response.status, page)
        stage = "POST"
        body = urllib.parse.urlencode({**FORM, "csrfmiddlewaretoken": token.group(1)})
        connection.request("POST", "/", body=body, headers={
            **headers, "Cookie": cookie, "Origin": f"https://{host}:{port}",
            "Content-Type": "application/x-www-form-urlencoded",
        })  # fmt: skip
        response = connection.getresponse()
        page = response.read().decode("utf-8", "replace")
        return Attempt(started, time.monotonic(), stage, response.status, page)
    except (OSError, http.client.HTTPException) as error:
        return Attempt(started, time.monotonic(), f"{stage} connection", 0, repr(error))
    finally:
        connection.close()


@dataclass
class Visitors:
    """`count` visitors submitting the form one after another until stopped."""

    host: str
    port: int
    count: int = 4
    attempts: list[Attempt] = field(default_factory=list)
    in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work) for _ in range(self.count)]

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self.in_flight += 1
            attempt = submit_form(self.host, self.port)
            with self._lock:
                self.in_flight -= 1
                self.attempts.append(attempt)

    def start(self) -> "Visitors":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Attempt]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self.attempts

    def answered_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for attempt in self.attempts if attempt.started >= moment)


def summarise(attempts: list[Attempt]) -> str:
    counts: dict[str, int] = {}
    for attempt in attempts:
        if attempt.receipt:
            kind = "receipt"
        elif attempt.error_page:
            kind = "error page"
        else:
            kind = f"{attempt.stage} {attempt.status}"
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind}: {number}" for kind, number in sorted(counts.items()))


def receipts_match_database(
    checks: Checks, database_url: str, attempts: list[Attempt], unanswered: int = 0
) -> None:
    """
    Every receipt shown is a stored request, and every stored request had its
    receipt. `unanswered`: requests whose COMMIT may have reached the server
    while its answer was cut off (a database restart): those are stored and
    whole, but their sender saw the error page; at most that many may exceed
    the receipts.
    """
    shown = [attempt.receipt for attempt in attempts if attempt.receipt]
    stored = scalar(database_url, "SELECT COUNT(*) FROM intake_helprequest")
    checks.check(
        len(shown) <= stored <= len(shown) + unanswered,
        "receipts shown == requests stored"
        + (f" (up to {unanswered} committed as the answer was cut)" if unanswered else ""),
        f"{len(shown)} / {stored}",
    )
    # A receipt's first four characters find its request (intake/receipts.py).
    stored_selectors = rows(database_url, "SELECT receipt_selector FROM intake_helprequest")
    selectors = {selector for (selector,) in stored_selectors}
    missing = [code for code in shown if code.replace("-", "")[:4] not in selectors]
    checks.check(
        not missing, "every receipt shown finds a stored request", f"{len(missing)} missing"
    )
    half = scalar(database_url, """
        SELECT (SELECT COUNT(*) FROM intake_helprequest r
                 WHERE NOT EXISTS (SELECT 1 FROM cases_case c WHERE c.request_id = r.id))
             + (SELECT COUNT(*) FROM cases_case c
                 WHERE NOT EXISTS (SELECT 1 FROM intake_helprequest r WHERE r.id = c.request_id))
             + (SELECT COUNT(*) FROM cases_case c
                 WHERE NOT EXISTS (SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id))
    """)  # fmt: skip
    checks.check(half == 0, "nothing half-stored (request, case and its event together)", half)


# --- PostgreSQL restarts -----------------------------------------------------------


class PostgresProxy:
    """
    A TCP proxy of ours between the app and the machine's PostgreSQL, to play a
    PostgreSQL restart without touching the shared server.

    `cut` does to the app what a restart does: every open connection is closed
    under it (the server-side sessions end, and PostgreSQL rolls back any open
    transaction), and for `refuse_seconds` nothing listens on the port, so new
    connections are refused; then it accepts again. With `marker`, the cut waits
    until a statement containing those bytes has run on the server and cuts
    before its answer reaches the app: a transaction is then broken halfway.
    """

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.marker: bytes | None = None
        self.refuse_seconds = 3.0
        self.cut_at: float | None = None
        self.reopened_at: float | None = None
        self.connections_cut = 0
        self.connections_opened = 0

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._close_everything)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def cut(self, refuse_seconds: float, marker: bytes | None = None) -> None:
        """Cut now, or (with `marker`) once a statement containing it has run."""
        self.refuse_seconds = refuse_seconds
        if marker:
            self.marker = marker
        else:
            self.loop.call_soon_threadsafe(self._cut)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )

    def _reopen(self) -> None:
        async def listen_again() -> None:
            await self._listen()
            self.reopened_at = time.monotonic()

        self.loop.create_task(listen_again())

    def _close_everything(self) -> None:
        if self.server:
            self.server.close()
        for app_side, db_side in list(self.links):
            app_side.transport.abort()
            db_side.transport.abort()
        self.links.clear()

    def _cut(self) -> None:
        if self.cut_at is not None:
            return
        self.marker = None
        self.cut_at = time.monotonic()
        self.connections_cut = len(self.links)
        self._close_everything()
        self.loop.call_later(self.refuse_seconds, self._reopen)

    async def _serve(self, app_reader, app_writer) -> None:
        try:
            db_reader, db_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            app_writer.transport.abort()
            return
        link = (app_writer, db_writer)
        self.links.add(link)
        self.connections_opened += 1
        marked = asyncio.Event()
        try:
            await asyncio.gather(
                self._pump(app_reader, db_writer, marked, towards_db=True),
                self._pump(db_reader, app_writer, marked, towards_db=False),
                return_exceptions=True,
            )
        finally:
            self.links.discard(link)
            app_writer.transport.abort()
            db_writer.transport.abort()

    async def _pump(self, reader, writer, marked: asyncio.Event, towards_db: bool) -> None:
        while data := await reader.read(65536):
            if not towards_db and marked.is_set():
                # The server has run the marked statement: its answer never arrives.
                self._cut()
                return
            writer.write(data)
            await writer.drain()
            if towards_db and self.marker and self.marker in data:
                marked.set()
        writer.transport.abort()
