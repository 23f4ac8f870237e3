"""
Pages in a real browser: Chromium from Debian's packages, driven by Playwright,
against a live server. CI installs Chromium and must run these; a newcomer's
machine without it skips them and says why.
"""

import os
import shutil

import pytest

from reports.months import current_month, shift
from reports.services import store_report
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, make_staff, totp_code

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium")
    pytest.skip(
        "browser tests need Debian's chromium (apt install chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own
    # database work is still synchronous, which Django must be told.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    page.problems = []
    page.on(
        "console", lambda message: message.type == "error" and page.problems.append(message.text)
    )
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        os.makedirs("test-artifacts", exist_ok=True)
        page.screenshot(path=f"test-artifacts/{request.node.name}.png", full_page=True)
    context.close()


def sign_in(page, base: str, staff) -> None:
    page.goto(f"{base}/staff/login/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/staff/login/'] button")
    page.fill("#id_code", totp_code(staff.device))
    page.click("form[action='/staff/verify/'] button")
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_renders_without_console_errors(page, live_server):
    for back in range(3):
        CaseFactory(request__category="desertion")
        store_report(shift(current_month(), -back))
    coordinator = make_staff("browser-coordinator", "coordinator")

    sign_in(page, live_server.url, coordinator)
    page.goto(f"{live_server.url}/staff/dashboard/")

    assert page.locator("svg.chart").count() == 2
    assert page.locator(".tile").count() == 7
    assert page.problems == []
