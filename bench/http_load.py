"""
Driving the real server over HTTP: gunicorn with production settings, and
clients that submit the public form the way a browser does (a GET for the
security token and its cookie, then POSTs), on keep-alive connections.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench.common import ROOT

FORM = {
    "category": "desertion",
    "service_status": "mobilised",
    "location": "front_line",
    "urgency": "high",
    "legal_articles": "338",
    "contact": "@load_test_contact",
    "narrative": "Synthetic load-test request: not a real person. " * 4,
}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RECEIPT = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict, workers: int, threads: int = 1, log_path=None):
    """A gunicorn serving the app on a free port; yields (host, port)."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
           "GUNICORN_THREADS": str(threads)}  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # What an installation has before intake opens: its first caseworker, who
    # creates the organisation key (without it the form answers 503).
    subprocess.run(
        [sys.executable, "manage.py", "create_staff", "bench-caseworker", "--role", "caseworker"],
        cwd=ROOT,
        env={**env, "STAFF_PASSWORD": "bench caseworker password, long enough"},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    receipts: list[str] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int, receipt: str | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if receipt:
                self.receipts.append(receipt)


class Client:
    """One browser-like client on a keep-alive connection, as if behind the TLS proxy."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.origin = f"https://{host}:{port}"
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.cookie = ""
        self.token = ""

    def _request(self, method: str, path: str, body: str | None = None, **headers):
        headers = {"X-Forwarded-Proto": "https", "Host": f"{self.host}:{self.port}", **headers}
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            raise
        content = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("csrftoken="):
                self.cookie = value.split(";")[0]
        return response.status, content

    def prepare(self) -> None:
        status, page = self._request("GET", "/")
        match = TOKEN.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET / answered {status} without a form: {page[:300]!r}")
        self.token = match.group(1)

    def submit(self) -> tuple[int, str | None]:
        body = urllib.parse.urlencode({**FORM, "csrfmiddlewaretoken": self.token})
        status, page = self._request(
            "POST", "/", body,
            **{"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin},
        )  # fmt: skip
        match = RECEIPT.search(page) if status == 200 else None
        return status, match.group(1) if match else None

    def fetch(self, path: str) -> tuple[int, None]:
        return self._request("GET", path)[0], None

    def look_up(self, code: str) -> tuple[int, None]:
        """A follow-up at /status/ with a receipt code, as the status page sends it."""
        body = urllib.parse.urlencode({"code": code, "csrfmiddlewaretoken": self.token})
        status, page = self._request(
            "POST", "/status/", body,
            **{"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin},
        )  # fmt: skip
        return status, code if 'class="status-words"' in page else None


def run(
    host: str, port: int, clients: int, seconds: float, action: str, codes: list[str] = ()
) -> tuple[Results, float]:
    """`clients` threads doing `action` ("submit", "lookup" of each of `codes` in
    turn, or a GET path) for `seconds`."""
    results = Results()
    deadline = time.perf_counter() + seconds

    def work(number: int) -> None:
        client = Client(host, port)
        if action in ("submit", "lookup"):
            client.prepare()
        turn = number
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if action == "submit":
                    status, receipt = client.submit()
                elif action == "lookup":
                    status, receipt = client.look_up(codes[turn % len(codes)])
                    turn += clients
                else:
                    status, receipt = client.fetch(action)
            except (OSError, http.client.HTTPException):
                with results.lock:
                    results.errors += 1
                continue
            results.add(time.perf_counter() - started, status, receipt)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began
