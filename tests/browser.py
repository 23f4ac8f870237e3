"""
A real browser for end-to-end tests: Debian's Chromium, driven by Playwright,
against pytest-django's live server. A test module names this module in
`pytest_plugins` and asks for the `open_page` fixture.

Every page records what a careful visitor would never want to see: console
errors, script errors, error responses, and any request to a host other than
the live server. Requesters arrive over Tor, so a request elsewhere (a font, a
script, an analytics beacon) would be a leak, failed or not. When a test fails,
each of its pages is saved to test-artifacts/ as a screenshot, with what it
recorded beside it.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
ARTIFACTS = Path("test-artifacts")
# Long enough for a cold PostgreSQL page, short enough that a wrong locator
# fails in seconds rather than Playwright's default half-minute.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium():
    """One browser per module; without Chromium the tests skip, except in CI."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: install Debian's chromium")
        pytest.skip("browser tests need Debian's chromium (apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    # Playwright's sync API runs an event loop in this thread; the test's own
    # database work is still synchronous, which Django must be told.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


def _watch(page) -> None:
    problems = page.problems

    def on_console(message) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_request(request) -> None:
        if not _is_local(request.url):
            problems.append(f"request to another host: {request.method} {request.url}")

    def on_request_failed(request) -> None:
        if not _is_local(request.url):
            problems.append(f"failed request to another host: {request.url} {request.failure}")

    def on_response(response) -> None:
        if response.status >= 400:
            problems.append(f"error response: {response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)


def _save_artifacts(name: str, page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    except Exception as error:  # a crashed page must not hide the test's own failure
        page.problems.append(f"no screenshot: {error}")
    (ARTIFACTS / f"{name}.txt").write_text(
        "\n".join([f"url: {page.url}", *page.problems]) + "\n", encoding="utf-8"
    )


@pytest.fixture
def open_page(chromium, request):
    """
    `open_page(label, **context_options)`: a page in a fresh browser context
    (its own cookies, language, JavaScript setting), with `page.problems`
    listing what went wrong so far. `label` names its failure screenshot.
    """
    opened = []

    def open_(label: str, **context_options):
        context = chromium.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.problems = []
        _watch(page)
        opened.append((label, page))
        return page

    yield open_
    report = getattr(request.node, "rep_call", None)
    for label, page in opened:
        if report is not None and report.failed:
            _save_artifacts(f"{request.node.name}-{label}", page)
        page.context.close()
