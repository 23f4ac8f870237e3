"""
The staff menu in a real browser: an admin's seven links on one line at
1280 px, and on a phone a few full-width lines rather than a column of seven,
in Russian (the longer words) and in English.
"""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.staffing import make_staff, sign_in

pytest_plugins = ["tests.browser"]
LINKS = ".staff-nav li"


def link_rows(page) -> int:
    """How many lines the menu's links take."""
    tops = page.eval_on_selector_all(
        LINKS, "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    return len(set(tops))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_admin_menu_is_one_line_on_a_desktop_and_a_few_on_a_phone(
    language, open_page, live_server
):
    dave = make_staff("dave", "admin")
    client = Client()
    sign_in(client, dave)
    page = open_page(f"staff-nav-{language}")
    cookies = [
        (django_settings.SESSION_COOKIE_NAME, client.cookies[django_settings.SESSION_COOKIE_NAME]),
        (django_settings.LANGUAGE_COOKIE_NAME, language),
    ]
    page.context.add_cookies(
        [{"name": name, "value": str(getattr(value, "value", value)), "url": live_server.url}
         for name, value in cookies]
    )  # fmt: skip

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/staff/accounts/")
    assert page.locator(LINKS).count() == 7
    desktop = link_rows(page)
    page.set_viewport_size({"width": 390, "height": 844})
    phone = link_rows(page)
    page.screenshot(path=f"test-artifacts/staff-nav-{language}-phone.png")

    assert desktop == 1
    assert phone <= 4
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


@pytest.mark.django_db(transaction=True)
def test_a_caseworkers_menu_with_its_counts_and_the_search_box_fit_a_desktop_and_a_phone(
    open_page, live_server
):
    from tests.factories import CaseFactory

    CaseFactory.create_batch(12)
    alice = make_staff("alice", "caseworker")
    client = Client()
    sign_in(client, alice)
    page = open_page("staff-nav-caseworker")
    page.context.add_cookies(
        [{"name": name, "value": cookie.value, "url": live_server.url}
         for name, cookie in client.cookies.items()]
    )  # fmt: skip

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/staff/")
    desktop = link_rows(page)
    page.screenshot(path="test-artifacts/staff-nav-caseworker-desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})
    phone = link_rows(page)
    page.screenshot(path="test-artifacts/staff-nav-caseworker-phone.png", full_page=True)

    assert page.locator("header input[name=q]").is_visible()
    assert "(12)" in page.locator(".staff-nav").inner_text()
    assert desktop == 1
    assert phone <= 2
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
