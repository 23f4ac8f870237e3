"""
The public pages through a real HTTP client against gunicorn on the embedded
default (a SQLite file, Celery in-process), the way a requester meets them.
The client sends a distinctive address, user agent and referrer; afterwards
neither the database file nor the server's logs hold any of them, nor the text.
"""

import http.cookiejar
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "198.51.100.173"
AGENT = "TraceableAgent/7.7 (unique-test-agent)"
REFERRER = "https://referrer.example/very-unique-path"
NARRATIVE = "Через неделю отправляют обратно, помогите уйти"
CONTACT = "@http_test_contact_4711"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("http")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "INTAKE_ADDRESS_HEADER": "HTTP_X_REAL_IP",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        # The app's own log lines join the run's log file for the log scan.
        **({"LOG_FILE": os.environ["LOG_FILE"]} if os.environ.get("LOG_FILE") else {}),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # The first caseworker creates the organisation key that requests are sealed to.
    subprocess.run(
        [sys.executable, "manage.py", "create_staff", "first", "--role", "caseworker", "--json"],
        cwd=ROOT, env={**env, "STAFF_PASSWORD": "a long first caseworker password"},
        check=True, capture_output=True,
    )  # fmt: skip
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield {"base": base, "db": workdir / "db.sqlite3", "log": workdir / "server.log"}
    process.terminate()
    process.wait(timeout=10)
    log.close()
    keep_for_log_scan(workdir / "server.log")


def keep_for_log_scan(path) -> None:
    """The run's log scan (tests/log_scan.py) reads gunicorn's log too."""
    if os.environ.get("LOG_FILE"):
        target = (
            Path(os.environ["LOG_FILE"]).parent / f"gunicorn-{os.getpid()}-{path.stat().st_ino}.log"
        )
        shutil.copyfile(path, target)


class Browser:
    """urllib with cookies, sending the client details that must leave no trace."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(
        self, path: str, data: dict | None = None, csrf: bool = True, headers: dict | None = None
    ):
        sent = {"User-Agent": AGENT, "Referer": REFERRER, "X-Real-IP": ADDRESS}
        body = None
        if data is not None:
            fields = dict(data)
            if csrf:
                fields["csrfmiddlewaretoken"] = self.token(path)
            body = urllib.parse.urlencode(fields, doseq=True).encode()
            sent["Origin"] = self.base
        sent = {name: value for name, value in {**sent, **(headers or {})}.items() if value}
        request = urllib.request.Request(self.base + path, data=body, headers=sent)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        _status, page = self.request(path)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def valid_form(**overrides) -> dict:
    return {
        "category": "desertion",
        "service_status": "mobilised",
        "location": "front_line",
        "urgency": "high",
        "legal_articles": ["337", "338"],
        "contact": CONTACT,
        "narrative": NARRATIVE,
        **overrides,
    }


def receipt_in(page: str) -> str | None:
    match = re.search(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>", page)
    return match.group(1) if match else None


def stored_requests(server) -> int:
    with sqlite3.connect(server["db"]) as db:
        return db.execute("SELECT COUNT(*) FROM intake_helprequest").fetchone()[0]


def test_the_form_is_russian_and_loads_nothing_from_elsewhere(server):
    status, page = Browser(server["base"]).request("/")

    assert status == 200
    assert '<html lang="ru">' in page
    assert "Попросить о помощи" in page
    assert "<script" not in page
    for url in re.findall(r'(?:src|href|action)="([^"]+)"', page):
        assert url.startswith("/") or url.startswith("#"), url


def test_a_receipt_opens_the_status_and_a_wrong_one_does_not(server):
    browser = Browser(server["base"])
    status, page = browser.request("/", valid_form())
    code = receipt_in(page)
    assert status == 200 and code

    opened = browser.request("/status/", {"code": code.lower().replace("-", " ")})[1]
    wrong = browser.request("/status/", {"code": "ZZZZ" + code[4:]})[1]

    assert "Заявка получена" in opened or "прочитал" in opened
    assert "Заявки с таким кодом нет" in wrong


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        ({"category": "tourism"}, 400),
        ({"narrative": "   "}, 400),
        ({"narrative": "я" * 200_000}, 400),
    ],
)
def test_bad_input_gets_a_clear_answer_and_never_a_500(server, change, expected_status):
    before = stored_requests(server)
    status, page = Browser(server["base"]).request("/", valid_form(**change))

    assert status == expected_status
    assert 'class="error"' in page
    assert stored_requests(server) == before


def test_a_post_without_its_security_token_is_refused_clearly(server):
    before = stored_requests(server)
    status, page = Browser(server["base"]).request("/", valid_form(), csrf=False)

    assert status == 403
    assert "Ничего не сохранено" in page
    assert stored_requests(server) == before


def test_rapid_submissions_hit_the_limit_and_every_receipt_is_stored(server):
    before = stored_requests(server)
    browser = Browser(server["base"])
    results = [browser.request("/", valid_form()) for _ in range(60)]

    receipts = [receipt_in(page) for status, page in results if status == 200]
    assert all(receipts)
    assert 0 < len(receipts) < 60
    assert {status for status, _page in results} == {200, 429}
    assert stored_requests(server) == before + len(receipts)


def test_nothing_of_the_client_or_the_text_is_left_in_clear(server):
    Browser(server["base"]).request("/", valid_form())
    time.sleep(0.2)  # let the server flush its log

    blob = server["db"].read_bytes()
    log = server["log"].read_text(errors="replace")
    for secret in (NARRATIVE, CONTACT, ADDRESS, AGENT, REFERRER):
        assert secret.encode() not in blob, secret
        assert secret not in log, secret
    assert '"POST / HTTP/1.1" 200' in log  # the log is there, just without the client


ORIGIN = "https://origin-marker.example"


def test_a_refused_post_logs_neither_its_origin_nor_its_referrer(server):
    browser = Browser(server["base"])
    # Refused for its Origin, then (over "HTTPS", without Origin) for its Referer:
    # Django's CSRF check names both in its warning.
    by_origin = browser.request("/", valid_form(), headers={"Origin": ORIGIN})
    by_referrer = browser.request(
        "/", valid_form(), headers={"Origin": "", "X-Forwarded-Proto": "https"}
    )
    time.sleep(0.2)  # let the server flush its log

    assert (by_origin[0], by_referrer[0]) == (403, 403)
    log = server["log"].read_text(errors="replace")
    assert "Forbidden (Origin checking failed" in log
    assert "Forbidden (Referer checking failed" in log
    for detail in (ORIGIN, "origin-marker", REFERRER, "referrer.example"):
        assert detail not in log, detail


def test_control_characters_in_a_path_cannot_forge_or_hide_log_lines(server):
    browser = Browser(server["base"])
    forged = browser.request("/%0D%0Aforged%20200%20line%1B[31m%E2%80%AEdaolnwod")
    with_nul = browser.request("/%00%0Aforged%20by%20nul")
    time.sleep(0.2)

    assert (forged[0], with_nul[0]) == (404, 400)  # a NUL is refused before any view
    log = server["log"].read_text(errors="replace")
    assert "forged 200 line" in log and "forged by nul" in log  # logged, escaped
    assert not any(line.startswith("forged") for line in log.splitlines())
    for raw in ("\x00", "\r", "\x1b", "\u202e"):
        assert raw not in log, ascii(raw)


def test_the_access_log_names_no_case_and_keeps_the_minute_only(server):
    """The audit log records who opened which case; the access log must not say
    which case was opened, nor when to the millisecond (issue 21, item 12)."""
    reference = "GL-ACCS-LOG7"
    browser = Browser(server["base"])
    status, _page = browser.request(f"/staff/cases/{reference}/")
    time.sleep(0.2)

    assert status == 200  # sent on to the sign-in page
    log = server["log"].read_text(errors="replace")
    access = [line for line in log.splitlines() if '"GET /staff/cases/' in line]
    assert access, log[-2000:]
    for line in access:
        assert reference not in line
        assert re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d "GET /staff/cases/\[reference\]/ ', line), line
