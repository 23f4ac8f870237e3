"""
End to end in a real browser (issue 25): a reply typed when the session ended
comes back after signing in again; a request rejected as spam is reopened from
the New view; a later request merged into an earlier one, after which both
receipt codes read the whole thread.
"""

from importlib import import_module

import pytest
from django.conf import settings

from cases.models import Case
from intake.models import HelpRequest
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, totp_code
from tests.test_e2e import open_status, requester_page, send_request, sign_in

expect = pytest.importorskip("playwright.sync_api").expect
pytest_plugins = ["tests.browser"]


def end_sessions() -> None:
    """Every session forgotten by the server, as after the idle time."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        store(session_key=session.session_key).delete()


def write_as_requester(page, text: str) -> None:
    page.get_by_label("Ваше сообщение").fill(text)
    page.get_by_role("button", name="Отправить сообщение").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ваше сообщение отправлено.")


@pytest.mark.django_db(transaction=True)
def test_a_reply_typed_when_the_session_ended_is_back_after_signing_in(
    open_page, live_server, alice
):
    base = live_server.url
    case = CaseFactory(state="triaged")
    reference = case.request.reference
    reply = "Twenty minutes of careful writing: meet our volunteer at the station on Friday."
    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    caseworker.goto(f"{base}/staff/cases/{reference}/")
    caseworker.get_by_label("Message to the requester").fill(reply)

    end_sessions()
    caseworker.get_by_role("button", name="Send to the requester").click()

    expect(caseworker.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    expect(caseworker.get_by_role("status")).to_contain_text("Your session ended")
    caseworker.get_by_label("Username").fill(alice.username)
    caseworker.get_by_label("Password").fill(PASSWORD)
    caseworker.get_by_role("button", name="Continue").click()
    caseworker.get_by_label("Code", exact=True).fill(totp_code(alice.device))
    caseworker.get_by_role("button", name="Sign in", exact=True).click()

    expect(caseworker.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(caseworker.get_by_label("Message to the requester")).to_have_value(reply)
    caseworker.get_by_role("button", name="Send to the requester").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Message sent.")
    assert case.request.messages.count() == 1
    assert caseworker.problems == []


@pytest.mark.django_db(transaction=True)
def test_a_request_rejected_as_spam_is_reopened_from_the_new_view(open_page, live_server, alice):
    base = live_server.url
    requester = requester_page(open_page)
    code = send_request(requester, base, "Это настоящая заявка, а не спам.")
    case = Case.objects.get()
    reference = case.request.reference
    Case.objects.filter(pk=case.pk).update(state="rejected")
    open_status(requester, base, code)
    write_as_requester(requester, "Пожалуйста, прочитайте, это правда я.")

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    caseworker.goto(f"{base}/staff/new/")
    flag = caseworker.locator("section.after-rejection")
    expect(flag).to_contain_text("A rejected request was written to again")
    flag.get_by_role("button", name=f"Reopen {reference}…").click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text(f"Reopen {reference}?")
    caseworker.get_by_label("Why is it reopened?").fill("Not spam: the requester wrote back.")
    caseworker.get_by_role("button", name="Yes, reopen").click()

    expect(caseworker.get_by_role("status")).to_have_text("The case is open again, as “Triaged”.")
    expect(caseworker.locator("h1 .badge")).to_have_text("Triaged")
    open_status(requester, base, code)
    expect(requester.locator(".status-words")).to_have_text(
        "Консультант прочитал вашу заявку и свяжется с вами."
    )
    assert Case.objects.get(pk=case.pk).state == "triaged"
    assert requester.problems == [] and caseworker.problems == []


@pytest.mark.django_db(transaction=True)
def test_after_a_merge_both_receipt_codes_open_the_whole_thread(open_page, live_server, alice):
    base = live_server.url
    requester = requester_page(open_page)
    first_code = send_request(requester, base, "Первая заявка: нас отправляют обратно.")
    open_status(requester, base, first_code)
    write_as_requester(requester, "Сообщение с первым кодом.")
    second_code = send_request(requester, base, "Я потерял код, пишу снова.")
    open_status(requester, base, second_code)
    write_as_requester(requester, "Сообщение со вторым кодом.")
    earlier, later = HelpRequest.objects.order_by("pk")

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    caseworker.goto(f"{base}/staff/cases/{later.reference}/")
    caseworker.get_by_label("Another request's reference").fill(earlier.reference)
    caseworker.get_by_role("button", name="Merge into it…").click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text(
        f"Merge {later.reference} into {earlier.reference}?"
    )
    caseworker.get_by_role("button", name="Yes, do it").click()
    expect(caseworker.get_by_role("status")).to_contain_text(f"Merged into {earlier.reference}")
    caseworker.get_by_role("link", name="Open it").click()
    caseworker.get_by_label("Message to the requester").fill("Ответ для обоих кодов.")
    caseworker.get_by_role("button", name="Send to the requester").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Message sent.")

    for code in (first_code, second_code):
        open_status(requester, base, code)
        thread = requester.locator("ol.thread")
        expect(thread).to_contain_text("Сообщение с первым кодом.")
        expect(thread).to_contain_text("Сообщение со вторым кодом.")
        expect(thread).to_contain_text("Ответ для обоих кодов.")
    assert requester.problems == [] and caseworker.problems == []
