"""
End to end in a real browser, one story per role: a requester writes in
Russian with JavaScript off and follows the answer with the receipt code; a
caseworker works the case to its outcome; a coordinator sees the monthly report
task move the dashboard; an admin downloads the anonymised statistics.

Every page must stay quiet: no console error, no error response, no request to
another host (tests/browser.py). Failures leave screenshots in test-artifacts/.
"""

import csv
import io
import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry
from intake.models import HelpRequest
from reports.exports import COLUMNS
from reports.models import MonthlyReport
from reports.months import current_month, label, shift
from reports.services import store_report
from reports.tasks import generate_monthly_report
from tests.conftest import wait_for
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, totp_code

expect = pytest.importorskip("playwright.sync_api").expect
# The chromium and open_page fixtures, with the screenshots of failed tests.
pytest_plugins = ["tests.browser"]

RECEIPT_CODE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$")

# The public form as a Russian reader sees it: each question, and the answer
# picked in plain words (locale/ru/LC_MESSAGES/django.po).
RUSSIAN_ANSWERS = {
    "С чем вам нужна помощь?": "Хочу уйти из части (СОЧ, дезертирство)",
    "Ваша служба": "Контракт после 24.02.2022",
    "Где вы сейчас (примерно)?": "На фронте или в зоне боевых действий",
    "Насколько это срочно?": "Мне угрожает опасность прямо сейчас",
    "Каких обвинений вы опасаетесь? (необязательно)": "Статья 338: дезертирство",
}
JUST_RECEIVED = "Заявка получена. Скоро её прочитает консультант."
RESOLVED = "Мы сделали по этой заявке всё, что могли. Если нужна ещё помощь, напишите нам ниже."


def requester_page(open_page, locale: str = "ru-RU"):
    """A requester's browser with JavaScript off, as many set up Tor Browser."""
    return open_page("requester", java_script_enabled=False, locale=locale)


def send_request(page, base: str, narrative: str) -> str:
    """Fill the public form by its Russian labels and send it; the receipt code."""
    page.goto(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Попросить о помощи")
    for question, answer in RUSSIAN_ANSWERS.items():
        page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    page.get_by_label("Как с вами связаться? (необязательно)").fill("@e2e_requester")
    page.get_by_label("Расскажите о своей ситуации").fill(narrative)
    page.get_by_role("button", name="Отправить", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Мы получили вашу заявку")
    code = page.get_by_text(RECEIPT_CODE).inner_text().strip()
    assert code.replace("-", "") not in page.url.replace("-", "").upper()
    return code


def open_status(page, base: str, code: str) -> None:
    page.goto(f"{base}/status/")
    page.get_by_label("Ваш код заявки").fill(code)
    page.get_by_role("button", name="Открыть", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ваша заявка")


def sign_in(page, base: str, staff) -> None:
    """Password, then the authenticator's code, in English chosen with the switch."""
    page.goto(f"{base}/staff/login/")
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.get_by_label("Code", exact=True).fill(totp_code(staff.device))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def move(page, state: str, *, confirm: bool = False) -> None:
    """A move from the case page; a weighty one (resolved, closed, rejected) is
    asked again on a page of its own, which says what follows."""
    page.get_by_role("button", name=f"Move to “{state}”").click()
    if confirm:
        expect(page.locator(".confirm-move")).to_be_visible()
        page.get_by_role("button", name=f"Yes, move to “{state}”").click()
    expect(page.get_by_role("status")).to_have_text(f"Moved to “{state}”.")
    expect(page.locator("h1 .badge")).to_have_text(state)


def timeline(page):
    return page.locator("ol.timeline > li")


@pytest.mark.django_db(transaction=True)
def test_a_request_is_answered_and_resolved(open_page, live_server, alice):
    base = live_server.url
    requester = requester_page(open_page)
    narrative = "Нас отправляют обратно на следующей неделе, я не могу ехать."
    note = "Contract soldier near the front; wants out through a third country."
    reply = "Мы получили вашу заявку. Напишите нам в Signal, когда будете в безопасности."

    code = send_request(requester, base, narrative)
    open_status(requester, base, code)
    expect(requester.locator(".status-words")).to_have_text(JUST_RECEIVED)
    reference = HelpRequest.objects.get().reference

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    expect(caseworker.get_by_role("heading", level=1)).to_have_text("Triage queue")
    caseworker.get_by_role("link", name=reference, exact=True).click()
    expect(caseworker.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(caseworker.locator("h1 .badge")).to_have_text("New")
    expect(caseworker.locator(".narrative")).to_have_text(narrative)

    move(caseworker, "Triaged")
    caseworker.get_by_role("button", name="Assign to me").click()
    expect(caseworker.get_by_role("status")).to_have_text("Assigned to alice.")
    expect(caseworker.locator("form.assign strong")).to_have_text("alice")

    caseworker.get_by_label("New note").fill(note)
    caseworker.get_by_role("button", name="Save note").click()
    expect(caseworker.get_by_role("status")).to_have_text("Note saved.")
    expect(timeline(caseworker).last).to_contain_text(note)

    caseworker.get_by_label("Message to the requester").fill(reply)
    caseworker.get_by_role("button", name="Send to the requester").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Message sent.")
    expect(timeline(caseworker).last).to_contain_text(reply)

    move(caseworker, "In progress")
    caseworker.get_by_label("Outcome").select_option(label="Left the country")
    move(caseworker, "Resolved", confirm=True)
    expect(timeline(caseworker)).to_have_count(7)
    expect(timeline(caseworker)).to_contain_text(
        [
            "Request received (Web form)",
            "New → Triaged",
            "Assigned to alice",
            note,
            "Triaged → In progress",
            "In progress → Resolved (Left the country)",
            reply,  # dated to the hour: after what else happened in its hour
        ]
    )

    open_status(requester, base, code)
    expect(requester.locator(".status-words")).to_have_text(RESOLVED)
    expect(requester.locator("ol.thread li.from-staff")).to_contain_text(reply)
    expect(requester.locator("ol.thread li.from-staff .meta")).to_contain_text("Консультант")
    case = HelpRequest.objects.get().case
    assert (case.state, case.outcome, case.assigned_to) == ("resolved", "left_country", alice.user)
    assert requester.problems == []
    assert caseworker.problems == []


@pytest.mark.django_db(transaction=True)
def test_a_rejection_is_confirmed_on_its_own_page_and_told_in_the_timeline(
    open_page, live_server, alice
):
    base = live_server.url
    requester = requester_page(open_page)
    code = send_request(requester, base, "Пишу второй раз, проверьте, пожалуйста.")
    open_status(requester, base, code)
    requester.get_by_label("Ваше сообщение").fill("Это я, тот же человек.")
    requester.get_by_role("button", name="Отправить сообщение").click()
    reference = HelpRequest.objects.get().reference

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    caseworker.goto(f"{base}/staff/cases/{reference}/")
    reject = caseworker.get_by_role("button", name="Move to “Rejected”…")
    expect(reject).to_have_class(re.compile(r"\bconfirm-first\b"))
    expect(
        caseworker.get_by_role("button", name="Move to “Triaged”", exact=True)
    ).not_to_have_class(re.compile(r"confirm-first"))
    reject.click()

    # The second page: nothing has changed yet, and cancelling changes nothing.
    expect(caseworker.get_by_role("heading", level=1)).to_have_text(f"Move {reference} for good?")
    assert HelpRequest.objects.get().case.state == "new"
    caseworker.get_by_role("link", name="Cancel").click()
    expect(caseworker.locator("h1 .badge")).to_have_text("New")

    move(caseworker, "Rejected", confirm=True)
    entries = timeline(caseworker)
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text("Requester")
    expect(entries.nth(0)).to_contain_text("Request received (Web form)")
    expect(entries.nth(1)).to_contain_text("alice")
    expect(entries.nth(1)).to_contain_text("New → Rejected")
    expect(entries.nth(1).locator("time")).to_have_text("just now")
    # The requester's time is kept to the hour: what they wrote this hour is
    # shown after the caseworkers' work of the hour, where the newest is.
    expect(entries.nth(2)).to_contain_text("Requester")
    expect(entries.nth(2)).to_contain_text("Это я, тот же человек.")
    expect(entries.nth(2).locator("time")).to_have_text(re.compile(r"within the hour|1 hour ago"))
    expect(caseworker.get_by_text("This case is final: no more moves.")).to_be_visible()
    assert HelpRequest.objects.get().case.state == "rejected"
    assert requester.problems == []
    assert caseworker.problems == []


def run_report_task(month: str):
    result = generate_monthly_report.delay(month)
    if settings.REDIS_URL:
        result.get(timeout=30)
    return result


@pytest.mark.django_db(transaction=True)
def test_the_report_task_brings_a_new_request_to_the_dashboard(
    open_page, live_server, carol, celery_worker_or_eager
):
    base = live_server.url
    this_month = current_month()
    month = label(this_month)
    # Twelve: counts below ten are withheld on the dashboard as in exports.
    CaseFactory.create_batch(12)
    store_report(this_month)

    coordinator = open_page("coordinator")
    sign_in(coordinator, base, carol)
    coordinator.goto(f"{base}/staff/dashboard/")
    # The month under way is in the stored months, marked partial.
    stored_row = coordinator.get_by_role("row").filter(
        has=coordinator.get_by_role("link", name=f"{this_month:%B %Y}", exact=True)
    )
    expect(stored_row.get_by_role("cell").nth(0)).to_have_text("12")
    expect(stored_row).to_contain_text("partial")

    # Tor Browser asks for English pages; the form stays Russian all the same.
    tor_browser = requester_page(open_page, locale="en-US")
    send_request(tor_browser, base, "Ещё одна заявка за этот месяц.")
    coordinator.reload()
    # The dashboard shows stored reports only.
    expect(stored_row.get_by_role("cell").nth(0)).to_have_text("12")

    run_report_task(month)
    assert wait_for(lambda: MonthlyReport.objects.get(month=this_month).data["requests"] == 13)
    coordinator.reload()
    expect(stored_row.get_by_role("cell").nth(0)).to_have_text("13")
    coordinator.goto(f"{base}/staff/reports/{month}/")
    expect(coordinator.get_by_text("The month is still under way")).to_be_visible()
    assert tor_browser.problems == []
    assert coordinator.problems == []


def mid_month(month: date) -> datetime:
    return timezone.make_aware(datetime.combine(month.replace(day=15), time(12)))


@pytest.mark.django_db(transaction=True)
def test_an_admin_downloads_past_months_as_csv(open_page, live_server, dave):
    base = live_server.url
    first, busy, last = (shift(current_month(), back) for back in (-3, -2, -1))
    CaseFactory.create_batch(12, request__received_at=mid_month(busy))
    CaseFactory.create_batch(3, request__received_at=mid_month(last))

    admin = open_page("admin")
    sign_in(admin, base, dave)
    admin.get_by_role("link", name="Export statistics").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Export anonymised statistics")
    admin.get_by_label("From", exact=True).fill(label(first))
    admin.get_by_label("To", exact=True).fill(label(last))
    admin.get_by_role("group", name="Format").get_by_label("CSV").check()
    # Worded headers by default; a script's codes on request.
    admin.get_by_role("group", name="Column headers").get_by_label("Codes", exact=False).check()
    admin.get_by_label("Smallest published count").fill("10")
    with admin.expect_download() as started:
        admin.get_by_role("button", name="Download").click()
    download = started.value

    assert download.suggested_filename == f"tropa-stats-{label(first)}-{label(last)}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(["month", *COLUMNS])
    assert text.startswith("month,requests,desertion_related,resolved,assisted_desertions,")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert [row["month"] for row in rows] == [label(first), label(busy), label(last)]
    assert [row["requests"] for row in rows] == ["0", "12", "<10"]
    assert rows[1]["category_desertion"] == rows[1]["channel_web"] == "12"
    assert AuditEntry.objects.get(action="stats.export").actor == "dave"
    assert admin.problems == []


@pytest.mark.django_db(transaction=True)
def test_the_first_caseworker_bootstraps_and_grants_a_newcomer_access(
    open_page, live_server, monkeypatch
):
    """Content keys, end to end: the first caseworker made on the server creates
    the organisation key; a request is sealed to it; a newcomer sees the case
    locked until the first caseworker compares safety codes and grants access."""
    from django.core.management import call_command

    from encryption import services as key_services
    from tests.staffing import make_staff

    base = live_server.url
    key_services.shred(actor="test")  # a fresh installation
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("create_staff", "first", "--role", "caseworker", stdout=out)
    assert "RECOVERY KEY" in out.getvalue()
    narrative = "Меня не отпускают со службы, нужна консультация юриста."
    send_request(requester_page(open_page), base, narrative)
    reference = HelpRequest.objects.get().reference

    newcomer = make_staff("newcomer", "caseworker", with_access=False)
    newcomer_page = open_page("newcomer")
    sign_in(newcomer_page, base, newcomer)
    newcomer_page.goto(f"{base}/staff/cases/{reference}/")
    # Waiting for access: the case page leads to the page that says so.
    expect(newcomer_page).to_have_url(f"{base}/staff/access/")
    expect(newcomer_page.locator(".narrative")).to_have_count(0)
    newcomer_page.goto(f"{base}/staff/access/")
    safety_code = newcomer_page.locator(".notice code.secret").inner_text()

    from django.contrib.auth import get_user_model

    from accounts.models import AuthenticatorDevice
    from tests.staffing import Staff

    first_user = get_user_model().objects.get(username="first")
    first = Staff(first_user, AuthenticatorDevice.objects.get(user=first_user), [])
    granter = open_page("first caseworker")
    sign_in(granter, base, first)
    granter.goto(f"{base}/staff/access/")
    waiting = granter.locator("ul.people li", has_text="newcomer")
    expect(waiting.locator("code")).to_have_text(safety_code)
    waiting.get_by_label("I compared this code with newcomer").check()
    waiting.get_by_role("button", name="Grant access").click()
    expect(granter.get_by_role("status")).to_contain_text("newcomer can read cases")

    # Access comes with the next sign-in (the keys are unlocked by the password).
    newcomer_page.get_by_role("button", name="Sign out").click()
    again = open_page("newcomer, signed in again")
    sign_in(again, base, newcomer)
    again.goto(f"{base}/staff/cases/{reference}/")
    expect(again.locator(".narrative")).to_have_text(narrative)


@pytest.mark.django_db(transaction=True)
def test_a_first_answer_from_a_template_then_a_follow_up_day(open_page, live_server, alice):
    """The caseworker's day: a template written once, a first answer in three
    actions (choose, use, send), and the case back in the Due view on its day."""
    from cases.models import Case
    from intake.models import RequestMessage
    from tests.content_keys import opened

    base = live_server.url
    reference = CaseFactory(request__language="ru", assigned_to=alice.user).request.reference
    template = "Мы прочитали вашу заявку. Пишите нам только с безопасного телефона."

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    # Templates are reached from a case's reply box, where they are used.
    caseworker.goto(f"{base}/staff/cases/{reference}/")
    caseworker.get_by_role("link", name="Write reply templates").click()
    expect(caseworker.locator("p.empty")).to_contain_text("No reply templates yet")
    caseworker.get_by_role("link", name="New template").click()
    caseworker.get_by_label("Title").fill("Первый ответ")
    caseworker.get_by_label("Language").select_option(label="Russian")
    caseworker.get_by_label("Text").fill(template)
    caseworker.get_by_role("button", name="Save").click()
    expect(caseworker.get_by_role("status")).to_have_text("Template saved.")

    caseworker.goto(f"{base}/staff/cases/{reference}/")
    caseworker.get_by_label("Reply template").select_option(label="Первый ответ")
    caseworker.get_by_role("button", name="Use template").click()
    box = caseworker.get_by_label("Message to the requester")
    expect(box).to_have_value(template)
    box.fill(template + " Ваш номер дела у нас есть.")
    caseworker.get_by_role("button", name="Send to the requester").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Message sent.")

    today = timezone.localdate()
    caseworker.get_by_label("Follow up on").fill(today.isoformat())
    caseworker.get_by_role("button", name="Set the day").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Follow up on")
    caseworker.get_by_role("link", name="Due", exact=True).click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text("Due")
    expect(caseworker.locator("table.due")).to_contain_text(reference)

    message = RequestMessage.objects.get(request__reference=reference)
    assert opened(message, "body")["body"] == template + " Ваш номер дела у нас есть."
    assert Case.objects.get(request__reference=reference).follow_up_on == today


def test_a_caseworker_finds_a_request_by_reference_and_contact_and_rejects_spam_in_bulk(
    open_page, live_server, alice
):
    base = live_server.url
    send_request(requester_page(open_page), base, "Меня снова отправляют на фронт.")
    reference = HelpRequest.objects.get().reference
    spam = [CaseFactory(), CaseFactory()]
    spam_references = sorted(case.request.reference for case in spam)

    caseworker = open_page("caseworker")
    sign_in(caseworker, base, alice)
    search_box = caseworker.get_by_label("Search by reference or contact")
    search_box.fill(reference.lower().replace("-", " "))  # "gl xp3d q9tx": typed loosely
    caseworker.get_by_role("button", name="Search", exact=True).click()
    expect(caseworker.get_by_role("heading", level=1)).to_contain_text(reference)

    caseworker.get_by_label("Search by reference or contact").fill("@E2E_Requester")
    caseworker.get_by_role("button", name="Search", exact=True).click()
    expect(caseworker.locator("ul.contact-results")).to_contain_text(reference)
    assert "e2e_requester" not in caseworker.url.lower()

    caseworker.get_by_role("link", name=re.compile(r"^New \(3")).click()
    for spam_reference in spam_references:
        caseworker.get_by_label(f"Select {spam_reference}").check()
    caseworker.get_by_role("button", name="Reject as spam…").click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text("Reject as spam?")
    caseworker.get_by_role("button", name="Reject 2 cases as spam").click()
    expect(caseworker.get_by_role("status")).to_contain_text("2 cases moved to “Rejected”.")

    for case in spam:
        case.refresh_from_db()
        assert case.state == "rejected"
    assert HelpRequest.objects.get(reference=reference).case.state == "new"
    assert AuditEntry.objects.filter(action="case.move", detail__to_state="rejected").count() == 2
    assert caseworker.problems == []
