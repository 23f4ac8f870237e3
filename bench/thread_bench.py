"""
A case page and a status page with a long thread (the fourth review's item 2):
time and size with 2,000 messages, the whole thread shown (as before the
thread had pages: ?shown=2000) and the first page only (now).

Starts gunicorn with production settings on a fresh PostgreSQL database,
stores one request with 2,000 requester messages, signs a caseworker in
through the real pages (password, then the authenticator's code) and fetches
the case page; then the requester's status page, and one more message's POST.

    python dev.py bench thread_bench [--messages 2000] [--repeat 5] [--database bench_thread]
"""

import argparse
import base64
import hashlib
import hmac
import re
import statistics
import struct
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_postgres, production_env
from bench.http_load import FORM, RECEIPT, Client, gunicorn

# The password bench.http_load.gunicorn gives its caseworker.
PASSWORD = "bench caseworker password, long enough"  # noqa: S105 - a bench's own account
FILL = """
import os
from intake.models import HelpRequest
from intake.services import post_requester_message
request = HelpRequest.objects.get()
for n in range(int(os.environ["BENCH_MESSAGES"])):
    post_requester_message(request, f"Bench message {n:05d}: " + "words of a long thread " * 8)
from accounts.models import AuthenticatorDevice
print(request.reference, AuthenticatorDevice.objects.get(user__username="bench-caseworker").secret)
"""


def totp(secret: str) -> str:
    """RFC 6238 with django-otp's defaults: SHA-1, 30 s, 6 digits."""
    key = bytes.fromhex(secret) if re.fullmatch(r"[0-9a-f]+", secret) else base64.b32decode(secret)
    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


class Browser(Client):
    """A client that keeps every cookie (session, CSRF and the unlock cookie)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.jar: dict[str, str] = {}

    def call(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes, float]:
        headers = {"X-Forwarded-Proto": "https", "Host": f"{self.host}:{self.port}"}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": self.token})
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": self.origin, "Referer": self.origin + path})  # fmt: skip
        started = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        seconds = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.jar[name] = rest.split(";")[0]
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        if match:
            self.token = match.group(1).decode()
        return response.status, content, seconds


def timed(browser: Browser, method: str, path: str, repeat: int, form=None) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        status, content, seconds = browser.call(method, path, form)
        if status != 200:
            sys.exit(f"{method} {path} answered {status}")
        times.append(seconds)
        size = len(content)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_thread")
    args = parser.parse_args()

    database_url = fresh_postgres(args.database, args.postgres_url)
    limits = str(args.messages * 2)
    env = production_env(
        database_url, REQUESTER_MESSAGES_PER_DAY=limits, REQUESTER_MESSAGES_IN_ALL=limits,
        CASE_TIMELINE_MOST=limits, STATUS_RATE_LIMIT="0", INTAKE_RATE_LIMIT="0",
    )  # fmt: skip
    with gunicorn(env, workers=2) as (host, port):
        requester = Browser(host, port)
        requester.call("GET", "/")
        status, page, _ = requester.call("POST", "/", FORM)
        found = RECEIPT.search(page.decode())
        if not found:
            sys.exit(f"the form answered {status} without a receipt")
        code = found.group(1)
        started = time.perf_counter()
        filled = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", FILL],
            cwd=ROOT, env={**env, "BENCH_MESSAGES": str(args.messages)},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if filled.returncode != 0:
            sys.exit(f"storing the messages failed:\n{filled.stderr[-3000:]}")
        reference, secret = filled.stdout.split()[-2:]
        print(f"{args.messages} messages stored in {time.perf_counter() - started:.1f} s")
        staff = Browser(host, port)
        staff.call("GET", "/staff/login/")
        signed = staff.call(
            "POST", "/staff/login/", {"username": "bench-caseworker", "password": PASSWORD}
        )
        staff.call("GET", "/staff/verify/")
        verified = staff.call("POST", "/staff/verify/", {"code": totp(secret)})
        if signed[0] != 302 or verified[0] != 302:
            sys.exit(f"signing in answered {signed[0]}, then {verified[0]}: {verified[1][:300]!r}")
        page = f"/staff/cases/{reference}/"
        everything = timed(staff, "GET", f"{page}?shown={args.messages * 2}", args.repeat)
        first = timed(staff, "GET", page, args.repeat)
        lookup = {"code": code}
        status_all = timed(requester, "POST", "/status/", args.repeat, {**lookup, "shown": "300"})
        status_first = timed(requester, "POST", "/status/", args.repeat, lookup)
        send = timed(requester, "POST", "/status/message/", 1, {**lookup, "body": "one more"})

    print(f"{'':<34} {'median ms':>10} {'size KB':>9}")
    for name, (seconds, size) in (
        ("case page, whole thread (before)", everything),
        ("case page, first page (now)", first),
        ("status page, 300 newest", status_all),
        ("status page, first page (now)", status_first),
        ("message POST (now: a short page)", send),
    ):
        print(f"{name:<34} {seconds * 1000:>10.1f} {size / 1024:>9.1f}")
    print(f"case page: {everything[0] / first[0]:.1f}x faster, "
          f"{everything[1] / first[1]:.1f}x smaller")  # fmt: skip


if __name__ == "__main__":
    main()
