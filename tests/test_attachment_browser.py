"""
Attachments in a real browser (Chromium, JavaScript off for the requester, as
in Tor Browser's safest level): a requester attaches two photos to the form
and gets a receipt (and again in a browser that runs axe-core); a caseworker
sees two thumbnails on the case page, each loading as an image; the pages pass
axe-core at 1280 and 390 px.
"""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from encryption.session import COOKIE_NAME
from intake.models import Attachment, HelpRequest
from tests.attachment_helpers import jpeg_with_metadata, plain_jpeg
from tests.staffing import make_staff, sign_in
from tests.test_accessibility import DESKTOP, PHONE, axe_violations, document_width

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(page, base: str, staff) -> None:
    """A caseworker's verified session with its unlock cookie (the content key),
    made through the real sign-in pages by Django's test client."""
    client = Client()
    sign_in(client, staff)
    for name in (django_settings.SESSION_COOKIE_NAME, COOKIE_NAME):
        page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base}])


def checked_at_both_widths(page) -> list[str]:
    problems = [f"{DESKTOP} px: {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": PHONE, "height": 844})
    problems += [f"{PHONE} px: {v}" for v in axe_violations(page)]
    if document_width(page) > PHONE:
        problems.append(f"{PHONE} px: the page is {document_width(page)} px wide")
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    return problems


def test_a_requester_attaches_two_photos_and_a_caseworker_sees_them(
    open_page, live_server, tmp_path, settings
):
    storages = {alias: dict(config) for alias, config in settings.STORAGES.items()}
    storages["attachments"] = {
        **storages["attachments"],
        "OPTIONS": {**storages["attachments"]["OPTIONS"], "location": str(tmp_path / "objects")},
    }
    settings.STORAGES = storages
    caseworker = make_staff("browser-caseworker", "caseworker")
    first, second = tmp_path / "IMG_0001.jpg", tmp_path / "IMG_0002.jpg"
    first.write_bytes(jpeg_with_metadata("BR1"))
    second.write_bytes(plain_jpeg(colour=(20, 120, 220)))

    def send_the_form(page, check=None) -> list[str]:
        page.set_viewport_size({"width": DESKTOP, "height": 900})
        page.goto(f"{live_server.url}/")
        for name in ("category", "service_status", "location", "urgency"):
            page.locator(f"input[name={name}]").first.check()
        page.fill("#id_narrative", "Пришла повестка, прикладываю фото.")
        page.set_input_files("#id_attachments", [str(first), str(second)])
        assert page.get_attribute("#id_attachments", "accept") == (
            "image/jpeg,image/png,image/webp,image/heic,application/pdf"
        )
        problems = check(page) if check else []
        page.click("form[action='/'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("code").first.inner_text().count("-") == 4
        return problems + (check(page) if check else [])

    # The requester as in Tor Browser's safest level: no JavaScript at all.
    requester = open_page("requester", java_script_enabled=False, locale="ru-RU")
    send_the_form(requester)
    assert Attachment.objects.count() == 2
    reference = HelpRequest.objects.get().reference
    # axe-core needs JavaScript: the same pages again, in a browser that runs it.
    checker = open_page("checker", locale="ru-RU")
    problems = send_the_form(checker, check=checked_at_both_widths)
    assert Attachment.objects.count() == 4

    staff_page = open_page("caseworker")
    signed_in(staff_page, live_server.url, caseworker)
    staff_page.set_viewport_size({"width": DESKTOP, "height": 900})
    # One thumbnail at a time: each opening writes an audit entry, and the test
    # database (SQLite in memory, shared between the server's threads) refuses
    # two writers at once where PostgreSQL or an SQLite file would wait.
    # The page's thumbnail requests are held, then let through one after the other.
    held = []
    staff_page.route("**/thumbnail/", lambda route: held.append(route))
    staff_page.goto(f"{live_server.url}/staff/cases/{reference}/", wait_until="domcontentloaded")
    for _ in range(200):
        if len(held) == 2:
            break
        staff_page.wait_for_timeout(50)
    assert len(held) == 2, "the page did not ask for two thumbnails"
    for route in held:
        route.fulfill(response=route.fetch())
    staff_page.wait_for_load_state("load")
    thumbnails = staff_page.locator("ul.attachments img")

    assert thumbnails.count() == 2
    for index in range(2):
        loaded = thumbnails.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, "a thumbnail did not load"
    problems += checked_at_both_widths(staff_page)
    assert problems == []
    assert requester.problems == [] and checker.problems == [] and staff_page.problems == []
