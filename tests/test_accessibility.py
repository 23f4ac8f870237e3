"""
Every page of the site against axe-core, in a real browser.

axe-core (Deque's accessibility engine; the copy bundled in
axe-playwright-python, injected from the package, so nothing is fetched)
checks WCAG 2.1 A and AA and its best practices on every page, in Debian's
Chromium at 1280 px and at 390 px (a phone). At 390 px the document must also
fit the screen. Any violation fails, naming the page, the width, the rule and
the elements; the pages also stay quiet as in every browser test (no console
error, no request to another host: tests/browser.py).

"Every page" is enforced: the URL resolver is walked, and each pattern must be
either visited below, for each role that sees it and in each state worth
seeing (a form with its errors, a page with its messages), or listed in
NOT_PAGES with the reason it shows no page of its own (and a test checks that
it really answers GET with none). A new URL without an entry fails.

Each role signs in once, in one browser page, and walks its pages.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from accounts import services as account_services
from accounts.models import SignInGuard
from cases import services as case_services
from cases.models import Case, SavedView
from encryption.models import OrganisationKey
from encryption.services import set_caseworker_key
from intake.models import HelpRequest
from intake.services import (
    RequestRecord,
    create_bot_token,
    post_requester_message,
    revoke_bot_token,
    submit_request,
)
from reports.months import current_month, label, shift
from reports.services import store_report
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, make_staff, sign_in, totp_code

Axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe
PlaywrightError = pytest.importorskip("playwright.sync_api").Error
# The chromium and open_page fixtures, with the screenshots of failed tests.
pytest_plugins = ["tests.browser"]

DESKTOP, PHONE = 1280, 390
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
    # No fetching of stylesheets for the CSSOM: only an experimental rule (not
    # run) needs it, and the fetch and the <style> it injects would break our
    # CSP (Django's admin CSS @imports), reported as the page's console errors.
    "preload": False,
}
AXE_SCRIPT = Axe().axe_script


@dataclass(frozen=True)
class Visit:
    """One page in one state: open `path`, do `act`, and check what is shown."""

    name: str
    route: str  # the URL pattern whose page is shown (or an error page: "404", ...)
    path: str
    status: int = 200
    act: Callable | None = None


# --- acting on a page --------------------------------------------------------


def click(selector: str) -> Callable:
    """Press a button and wait for the page it leads to."""

    def act(page, world):
        with page.expect_navigation() as navigation:
            page.locator(selector).click()
        return navigation.value

    return act


def steps(*acts: Callable) -> Callable:
    def act(page, world):
        response = None
        for each in acts:
            response = each(page, world) or response
        return response

    return act


def fill(**values: str) -> Callable:
    """Fill fields by id; a value may name an attribute of the world: "{code}"."""

    def act(page, world):
        for field_id, value in values.items():
            page.locator(f"#{field_id}").fill(value.format(**vars(world)), force=True)

    return act


def tick(selector: str, count: int = 1) -> Callable:
    """Tick the first `count` checkboxes matching `selector`."""

    def act(page, world):
        boxes = page.locator(selector)
        for n in range(count):
            boxes.nth(n).check()

    return act


def check_first_choices(page, world):
    for name in ("category", "service_status", "location", "urgency", "legal_articles"):
        page.locator(f"input[name={name}]").first.check()


def without_cookies(page, world):
    page.context.clear_cookies()


def without_organisation_key(page, world):
    """As on a new installation: nothing to seal requests to yet."""
    OrganisationKey.objects.update(state=OrganisationKey.State.RETIRED)


def status_limit_of_one(page, world):
    world.settings.STATUS_RATE_LIMIT = "1/h"


SEND = "main form:not(.sign-out) button[type=submit]"
BACKUP_CODES = "form[action$='/security/backup-codes/'] button"
MAKE_TOKEN = "form[action='/staff/bots/'] button[type=submit]"
STATUS_CODE = fill(id_code="{code}")


# --- who sees what -----------------------------------------------------------


def public_visits() -> list[Visit]:
    ask = "#main form[action='/'] button[type=submit]"
    return [
        Visit("the request form", "intake:form", "/"),
        Visit("the request form with its errors", "intake:form", "/", 400, click(ask)),
        Visit(
            "the receipt",
            "intake:form",
            "/",
            200,
            steps(check_first_choices, fill(id_narrative="Accessibility check."), click(ask)),
        ),
        Visit(
            "a bot's submission refused",
            "intake:form",
            "/",
            400,
            steps(
                check_first_choices,
                fill(id_narrative="Accessibility check.", id_website="filled by a bot"),
                click(ask),
            ),
        ),
        Visit("the status lookup", "intake:status", "/status/"),
        Visit(
            "a code that opens nothing",
            "intake:status",
            "/status/",
            200,
            steps(fill(id_code="NOPE-NOPE-NOPE-NOPE-NOPE"), click(SEND)),
        ),
        Visit(
            "a status with its messages",
            "intake:status",
            "/status/",
            200,
            steps(STATUS_CODE, click(SEND)),
        ),
        Visit(
            "a message sent from the status page",
            "intake:status_message",
            "/status/",
            200,
            steps(STATUS_CODE, click(SEND), fill(id_body="Thank you."), click(SEND)),
        ),
        Visit(
            "an empty message refused",
            "intake:status_message",
            "/status/",
            200,
            steps(STATUS_CODE, click(SEND), click(SEND)),
        ),
        Visit("staff sign-in", "accounts:sign_in", "/staff/login/"),
        Visit(
            "staff sign-in refused",
            "accounts:sign_in",
            "/staff/login/",
            200,
            steps(fill(id_username="nobody", id_password="wrong password"), click(SEND)),
        ),
        Visit("a page that does not exist", "404", "/no-such-page/", 404),
        Visit(
            "a form sent without its cookie", "csrf", "/", 403, steps(without_cookies, click(ask))
        ),
        Visit(
            "a status message sent without its cookie, given back",
            "csrf",
            "/status/",
            403,
            steps(
                STATUS_CODE, click(SEND), fill(id_body="Still here."), without_cookies, click(SEND)
            ),
        ),
        Visit(
            "the receipt, switched to English with its code",
            "intake:receipt_language",
            "/",
            200,
            steps(
                check_first_choices,
                fill(id_narrative="Accessibility check."),
                click(ask),
                click("form.language-switch button"),
            ),
        ),
        Visit(
            "too many lookups",
            "429",
            "/status/",
            429,
            steps(status_limit_of_one, STATUS_CODE, click(SEND)),
        ),
        Visit(
            "a request refused before the first caseworker exists",
            "intake:form",
            "/",
            503,
            steps(
                without_organisation_key,
                check_first_choices,
                fill(id_narrative="Accessibility check."),
                click(ask),
            ),
        ),
    ]


def current_code(page, world) -> None:
    """The authenticator's code, once the device takes one again: after a wrong
    code django-otp refuses every code for a second or more, and a fast page
    is checked sooner than that."""
    for _ in range(50):
        world.device.refresh_from_db()
        if world.device.verify_is_allowed()[0]:
            break
        page.wait_for_timeout(200)
    page.locator("#id_code").fill(totp_code(world.device))


def signing_in(username: str) -> list[Visit]:
    """The password step, then the second step with a wrong code, then in."""
    password = steps(fill(id_username=username, id_password=PASSWORD), click(SEND))
    code = steps(current_code)
    return [
        Visit("the second step", "accounts:verify", "/staff/login/", 200, password),
        Visit(
            "the second step with a wrong code",
            "accounts:verify",
            "/staff/verify/",
            200,
            steps(fill(id_code="000000"), click(SEND)),
        ),
        Visit(
            "signed in: the queue", "cases:queue", "/staff/verify/", 200, steps(code, click(SEND))
        ),
    ]


def caseworker_visits() -> list[Visit]:
    case = "/staff/cases/{reference}/"
    return [
        *signing_in("alice"),
        *finding_visits(),
        Visit("the queue, second page", "cases:queue", "/staff/?page=2"),
        Visit("the queue filtered to nothing", "cases:queue", "/staff/?urgency=low&state=waiting"),
        Visit("a case", "cases:detail", case),
        Visit(
            "a case after a note",
            "cases:detail",
            case,
            200,
            steps(fill(note_body="Called back."), click("form[action$='/notes/'] button")),
        ),
        Visit("a closed case soon erased", "cases:detail", "/staff/cases/{closed}/"),
        *answering_and_following_up_visits(),
        *undoing_visits(),
        Visit("a case that does not exist", "cases:detail", "/staff/cases/GL-0000-0000/", 404),
        Visit("an admin's page", "403", "/staff/accounts/", 403),
        *confirming_visits(),
        Visit("own backup codes", "accounts:security", "/staff/security/"),
        Visit(
            "renaming a passkey with its errors",
            "accounts:security_passkey_name",
            "/staff/security/",
            400,
            steps(clear_passkey_name, click("form[action$='/name/'] button")),
        ),
        Visit(
            "adding a passkey: the password first",
            "accounts:security_passkeys",
            "/staff/security/passkeys/",
        ),
        Visit(
            "adding a passkey with its errors",
            "accounts:security_passkeys",
            "/staff/security/passkeys/",
            400,
            click(SEND),
        ),
        Visit(
            "adding a passkey: the button",
            "accounts:security_passkeys",
            "/staff/security/passkeys/",
            200,
            steps(fill(passkey_password=PASSWORD), click(SEND)),
        ),
        Visit(
            "a password change with its errors",
            "accounts:security_password",
            "/staff/security/",
            400,
            click("form[action$='/security/password/'] button"),
        ),
        Visit(
            "new backup codes refused",
            "accounts:security_backup_codes",
            "/staff/security/",
            400,
            click(BACKUP_CODES),
        ),
        Visit(
            "replacing the authenticator",
            "accounts:security_authenticator",
            "/staff/security/authenticator/",
        ),
        Visit(
            "replacing the authenticator with its errors",
            "accounts:security_authenticator",
            "/staff/security/authenticator/",
            400,
            click(SEND),
        ),
        Visit(
            "new backup codes",
            "accounts:security_backup_codes",
            "/staff/security/",
            200,
            steps(fill(codes_password=PASSWORD), click(BACKUP_CODES)),
        ),
    ]


def clear_passkey_name(page, world):
    page.locator("form[action$='/name/'] input[name=name]").fill("")


def confirming_visits() -> list[Visit]:
    """Moves confirmed on a page of their own, the held list and content access."""

    def outcome(page, world):
        page.locator("#outcome").select_option("referred")

    return [
        Visit(
            "a reply that also sets the case waiting, to confirm",
            "cases:reply",
            "/staff/cases/{in_progress}/",
            200,
            steps(fill(reply_body="Write when you are safe."), click("button[value='waiting']")),
        ),
        Visit(
            "a case with a contact outside the system recorded",
            "cases:detail",
            "/staff/cases/{in_progress}/",
            200,
            steps(
                lambda page, world: page.locator("#contact_contacted_via_0").check(),
                click("form.outside-contact button"),
            ),
        ),
        Visit(
            "the queue filtered by channel, language and dates",
            "cases:queue",
            "/staff/?channel=web&language=en&received_from=2026-01-01&received_to=2026-12-31",
        ),
        Visit(
            "a rejection to confirm",
            "cases:move",
            "/staff/cases/{reference}/",
            200,
            click("form.move.final button"),
        ),
        Visit(
            "a resolution to confirm",
            "cases:move",
            "/staff/cases/{in_progress}/",
            200,
            steps(outcome, click("form.move.confirm-first:not(.final) button")),
        ),
        Visit("the held requests", "cases:held", "/staff/held/"),
        Visit(
            "held requests rejected: the confirmation",
            "cases:held_reject",
            "/staff/held/",
            200,
            click("form[action$='/held/reject/'] button >> nth=0"),
        ),
        Visit(
            "a whole flood rejected: the confirmation",
            "cases:held_reject_window",
            "/staff/held/",
            200,
            click("form[action$='/held/reject-window/'] button >> nth=0"),
        ),
        Visit("content access", "accounts:access", "/staff/access/"),
        Visit(
            "revoking access: the confirmation",
            "accounts:access_revoke",
            "/staff/access/{bob}/revoke/",
        ),
    ]


def finding_visits() -> list[Visit]:
    """Search, the New view, and bulk actions in the queue and the held list (issue 13)."""
    by_contact = "form[aria-labelledby=by-contact] button"
    return [
        Visit("what is new", "cases:new", "/staff/new/"),
        Visit("the search page", "cases:search", "/staff/search/"),
        Visit(
            "references found from the box on every page",
            "cases:search",
            "/staff/",
            200,
            steps(fill(**{"staff-search-q": "gl-a11y"}), click(".staff-search button")),
        ),
        Visit(
            "requests found by contact",
            "cases:search",
            "/staff/search/",
            200,
            steps(fill(contact_contact="@a11y_requester_long_handle_to_wrap"), click(by_contact)),
        ),
        Visit(
            "bulk rejection asked again",
            "cases:bulk",
            "/staff/new/",
            200,
            steps(tick("input[name=selected]", 2), click("button[value=reject_spam]")),
        ),
        Visit(
            "held groups' rejection asked again",
            "cases:held_reject",
            "/staff/held/",
            200,
            steps(tick("input[form=held-bulk]", 2), click("#held-bulk button.danger")),
        ),
    ]


def sorting_and_saved_views_visits() -> list[Visit]:
    """The queue sorted (aria-sort on its header), a saved view listed with its
    rename and delete forms open, the New view sorted, and the bulk resolution
    as lost contact asked again (issue 25, item 8)."""
    return [
        Visit("the queue, most urgent first", "cases:queue", "/staff/?sort=-urgency"),
        Visit(
            "a saved view, listed with its rename and delete forms",
            "cases:queue",
            "/staff/?urgency=high&sort=received",
            200,
            steps(
                fill(view_name="Urgent ones, oldest first"),
                click("form.save-view button"),
                lambda page, world: page.locator("details.manage-views summary").click(),
            ),
        ),
        Visit("what is new, by urgency", "cases:new", "/staff/new/?sort=urgency"),
        Visit(
            "bulk resolution as lost contact asked again",
            "cases:bulk",
            "/staff/?state=in_progress",
            200,
            steps(tick("input[name=selected]", 1), click("button[value=resolve_lost]")),
        ),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_sorted_queue_and_saved_views_pass_axe_at_both_widths(open_page, live_server, settings):
    world, alice = build_world("caseworker", settings)
    page = open_page("queue-views")
    client = Client()
    sign_in(client, alice)  # with the content keys' cookie, as a caseworker's day
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    visits = sorting_and_saved_views_visits()

    failures = [p for visit in visits for p in visit_page(page, live_server.url, visit, world)]

    assert not failures, "\n".join(failures)
    assert browser_problems(page, visits) == []
    assert SavedView.objects.get().query == "urgency=high&sort=received"


# --- the caseworker's day: reply templates and follow-ups --------------------------


def answering_and_following_up_visits() -> list[Visit]:
    """Reply templates from none to one (its form with errors, editing, the delete
    confirmation), one inserted on a case page; the Due view empty, then filled
    once the case has a follow-up day (the world adds a case waiting too long)."""
    case = "/staff/cases/{reference}/"
    edit = click(".template-list a.button.secondary")
    choose = steps(
        lambda page, world: page.locator("#reply-template").select_option(index=1),
        click("form.use-template button"),
    )
    follow_up = steps(
        fill(follow_up_follow_up_on="{today}"), click("form[action$='/follow-up/'] button")
    )
    return [
        Visit("reply templates, none yet", "cases:templates", "/staff/templates/"),
        Visit(
            "a new reply template with its errors",
            "cases:template_new",
            "/staff/templates/new/",
            200,
            click(SEND),
        ),
        Visit(
            "reply templates, one saved",
            "cases:templates",
            "/staff/templates/new/",
            200,
            steps(fill(id_title="First answer", id_body="We read your request."), click(SEND)),
        ),
        Visit("editing a reply template", "cases:template_edit", "/staff/templates/", 200, edit),
        Visit(
            "editing a reply template with its errors",
            "cases:template_edit",
            "/staff/templates/",
            200,
            steps(edit, fill(id_title=""), click(SEND)),
        ),
        Visit(
            "deleting a reply template: the confirmation",
            "cases:template_delete",
            "/staff/templates/",
            200,
            click(".template-list a.button.danger"),
        ),
        Visit("a case with a reply template chosen", "cases:detail", case, 200, choose),
        Visit("nothing due", "cases:due", "/staff/due/"),
        Visit("a case with a follow-up day", "cases:detail", case, 200, follow_up),
        Visit("due cases", "cases:due", "/staff/due/"),
        Visit("everyone's due cases", "cases:due", "/staff/due/?scope=all"),
        Visit(
            "the digest address saved",
            "cases:due",
            "/staff/due/",
            200,
            steps(fill(id_email="alice@example.org"), click(".digest button")),
        ),
    ]


def undoing_visits() -> list[Visit]:
    """Reopening (its confirmation, with and without a reason), the New view's flag
    of a rejected request written to again, merging, linking and undoing them."""
    reopen = click("form.reopen button")
    relate = "form[action$='/relate/'] button[value={}]"
    merged = "/staff/cases/{second}/"
    return [
        Visit("a rejected request written to again, flagged", "cases:new", "/staff/new/"),
        Visit("a reopening to confirm", "cases:reopen", "/staff/cases/{closed}/", 200, reopen),
        Visit(
            "a reopening without a reason",
            "cases:reopen",
            "/staff/cases/{closed}/",
            200,
            steps(
                reopen,
                fill(reopen_reason="  "),
                click("form[action$='/reopen/'] button.confirm-first"),
            ),
        ),
        Visit(
            "a link to confirm",
            "cases:relate",
            "/staff/cases/{first}/",
            200,
            steps(fill(relate_other="{reference}"), click(relate.format("link"))),
        ),
        Visit(
            "a merge to confirm",
            "cases:relate",
            merged,
            200,
            steps(fill(relate_other="{first}"), click(relate.format("merge"))),
        ),
        Visit(
            "a merged request",
            "cases:detail",
            merged,
            200,
            steps(
                fill(relate_other="{first}"),
                click(relate.format("merge")),
                click("button.confirm-first"),
            ),
        ),
        Visit("the request merged into", "cases:detail", "/staff/cases/{first}/"),
        Visit(
            "undoing a merge: the confirmation",
            "cases:relate",
            merged,
            200,
            click("section.related form button"),
        ),
    ]


def add_undo_world(world, alice) -> None:
    """A rejected request written to again; two requests of one person to merge."""
    first = submit_request(request_record(received_at=timezone.now() - timedelta(days=2)))
    second = submit_request(request_record())
    world.first = first.help_request.reference
    world.second = second.help_request.reference
    closed = HelpRequest.objects.get(reference=world.closed)
    post_requester_message(closed, "It was me, please read it.")


@pytest.mark.django_db(transaction=True)
def test_undoing_passes_axe_at_both_widths(open_page, live_server, settings):
    """Reopening, merging and linking on their own, signed in with the content
    keys' cookie, so that they are checked even when an earlier step of the
    caseworker's walk fails."""
    world, alice = build_world("caseworker", settings)
    page = open_page("undoing")
    client = Client()
    sign_in(client, alice)
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    visits = undoing_visits()

    failures = [p for visit in visits for p in visit_page(page, live_server.url, visit, world)]

    assert not failures, "\n".join(failures)
    assert browser_problems(page, visits) == []
    assert Case.objects.get(request__reference=world.second).merged_into is not None


@pytest.mark.django_db(transaction=True)
def test_the_caseworkers_day_passes_axe_at_both_widths(open_page, live_server, settings):
    """The pages of reply templates and follow-ups on their own as well, signed
    in with the content keys' cookie, so that they are checked even when an
    earlier step of the caseworker's walk fails."""
    world, alice = build_world("caseworker", settings)
    page = open_page("caseworkers-day")
    client = Client()
    sign_in(client, alice)
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    visits = answering_and_following_up_visits()

    failures = [p for visit in visits for p in visit_page(page, live_server.url, visit, world)]

    assert not failures, "\n".join(failures)
    assert browser_problems(page, visits) == []
    assert Case.objects.get(request__reference=world.reference).follow_up_on is not None
    assert get_user_model().objects.get(username="alice").email == "alice@example.org"


def add_day_world(world) -> None:
    """A case waiting for the requester longer than WAITING_FLAG_DAYS, nobody's."""
    waiting = CaseFactory(state="waiting")
    Case.objects.filter(pk=waiting.pk).update(
        waiting_since=timezone.now() - timedelta(days=world.settings.WAITING_FLAG_DAYS + 3)
    )
    world.today = timezone.localdate().isoformat()


def coordinator_visits() -> list[Visit]:
    return [
        Visit("the dashboard", "reports:dashboard", "/staff/dashboard/"),
        Visit("a month", "reports:month", "/staff/reports/{month}/"),
        Visit("a month without a report", "reports:month", "/staff/reports/2001-01/", 404),
        Visit("the definitions", "reports:definitions", "/staff/reports/definitions/"),
        Visit("a case", "403", "/staff/cases/{reference}/", 403),
    ]


def admin_visits() -> list[Visit]:
    return [
        Visit("staff accounts", "accounts:staff_list", "/staff/accounts/"),
        Visit("a new account", "accounts:staff_new", "/staff/accounts/new/"),
        Visit(
            "a new account with its errors",
            "accounts:staff_new",
            "/staff/accounts/new/",
            200,
            click(SEND),
        ),
        Visit(
            "an account created",
            "accounts:staff_new",
            "/staff/accounts/new/",
            200,
            steps(
                fill(id_username="newcomer2"),
                lambda page, world: page.locator("#id_role").select_option("caseworker"),
                click(SEND),
            ),
        ),
        *account_confirmation_visits(),
        Visit("the audit log", "audit:log", "/staff/audit/"),
        Visit("the audit log verified", "audit:log", "/staff/audit/?verify=1"),
        Visit("bot tokens", "bots:list", "/staff/bots/"),
        Visit("a bot token with its errors", "bots:list", "/staff/bots/", 200, click(MAKE_TOKEN)),
        Visit(
            "a new bot token",
            "bots:list",
            "/staff/bots/",
            200,
            steps(fill(id_name="signal-bot"), click(MAKE_TOKEN)),
        ),
        Visit("the statistics export", "reports:export", "/staff/exports/"),
        Visit(
            "the statistics export with its errors",
            "reports:export",
            "/staff/exports/",
            400,
            steps(fill(id_from_month="2024-13"), click(SEND)),
        ),
        Visit("the dashboard, for an admin", "reports:dashboard", "/staff/dashboard/"),
        Visit("a month, for an admin", "reports:month", "/staff/reports/{month}/"),
        Visit("no role", "accounts:no_role", "/staff/no-role/", 403),
        *django_admin_visits(),
        *role_and_reactivation_visits(),
        Visit("the lockdown", "accounts:lockdown", "/staff/lockdown/"),
        Visit(
            "the lockdown with its errors",
            "accounts:lockdown",
            "/staff/lockdown/",
            400,
            click(SEND),
        ),
        Visit(
            "signed out by the lockdown",
            "accounts:sign_in",
            "/staff/lockdown/",
            200,
            steps(lambda page, world: page.locator("input[name=confirm]").check(), click(SEND)),
        ),
        *signing_in_again("dave"),
        Visit("the lockdown in force", "accounts:lockdown", "/staff/lockdown/"),
        Visit("the lockdown lifted", "accounts:lockdown", "/staff/lockdown/", 200, click(SEND)),
        Visit(
            "signed out", "accounts:sign_in", "/staff/lockdown/", 200, click("form.sign-out button")
        ),
    ]


def account_confirmation_visits() -> list[Visit]:
    """What an admin is asked before acting on an account, and a one-time password."""
    person = "/staff/accounts/{not_yet}/"
    return [
        Visit("resetting a device: the confirmation", "accounts:staff_reset_device",
              person + "reset-device/"),
        Visit("deactivating: the confirmation", "accounts:staff_deactivate",
              person + "deactivate/"),
        Visit("a new password: the confirmation", "accounts:staff_issue_password",
              person + "new-password/"),
        Visit("a new password issued", "accounts:staff_issue_password",
              person + "new-password/", 200, click(SEND)),
    ]  # fmt: skip


def role_and_reactivation_visits() -> list[Visit]:
    """Changing a role and reactivating an account: each with its confirmation page."""
    role = "/staff/accounts/{not_yet}/role/"
    reactivate = "/staff/accounts/{gone}/reactivate/"

    def choose(value: str) -> Callable:
        return lambda page, world: page.locator("#id_role").select_option(value)

    return [
        Visit("changing a role", "accounts:staff_role", role),
        Visit("changing a role to the one it has", "accounts:staff_role", role, 400, click(SEND)),
        Visit(
            "changing a role: the confirmation",
            "accounts:staff_role",
            role,
            200,
            steps(choose("coordinator"), click(SEND)),
        ),
        Visit("reactivating an account: the confirmation", "accounts:staff_reactivate", reactivate),
        Visit(
            "an account reactivated, with its one-time password",
            "accounts:staff_reactivate",
            reactivate,
            200,
            click(SEND),
        ),
    ]


def signing_in_again(username: str) -> list[Visit]:
    password = steps(fill(id_username=username, id_password=PASSWORD), click(SEND))
    code = steps(current_code)
    return [
        Visit("the second step in a lockdown", "accounts:verify", "/staff/login/", 200, password),
        Visit(
            "an admin's home in a lockdown",
            "accounts:staff_list",
            "/staff/verify/",
            200,
            steps(code, click(SEND)),
        ),
    ]


def django_admin_visits() -> list[Visit]:
    """The Django admin: its index, each app, and each registered model's pages."""
    visits = [
        Visit("admin: index", "admin:index", "/admin/"),
        # The admin's own password pages lead to the staff area's security page.
        Visit("admin: password change", "accounts:security", "/admin/password_change/"),
        Visit("admin: password changed", "accounts:security", "/admin/password_change/done/"),
    ]
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        visits.append(Visit(f"admin: {app_label}", "admin:app_list", f"/admin/{app_label}/"))
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        route = f"admin:{opts.app_label}_{opts.model_name}"
        first = f"{{admin_{opts.app_label}_{opts.model_name}}}"
        visits += [
            Visit(f"admin: {opts.label} list", f"{route}_changelist", base),
            Visit(f"admin: {opts.label} searched", f"{route}_changelist", f"{base}?q=zzz"),
            Visit(f"admin: one {opts.label}", f"{route}_change", f"{base}{first}/change/"),
            Visit(f"admin: {opts.label} history", f"{route}_history", f"{base}{first}/history/"),
        ]
    return visits


def newcomer_visits() -> list[Visit]:
    password = steps(fill(id_username="newcomer", id_password=PASSWORD), click(SEND))

    def code(page, world):
        page.locator("#id_code").fill(totp_code(world.pending_device()))

    return [
        Visit("setting up the authenticator", "accounts:enrol", "/staff/login/", 200, password),
        Visit(
            "setting up the authenticator, wrong code",
            "accounts:enrol",
            "/staff/enrol/",
            200,
            steps(fill(id_code="000000"), click(SEND)),
        ),
        Visit(
            "first backup codes", "accounts:enrol", "/staff/enrol/", 200, steps(code, click(SEND))
        ),
        Visit(
            "signed out", "accounts:sign_in", "/staff/security/", 200, click("form.sign-out button")
        ),
        Visit(
            "choosing one's own password",
            "accounts:choose_password",
            "/staff/login/",
            200,
            steps(fill(id_username="issued", id_password="{one_time}"), click(SEND)),
        ),
        Visit(
            "choosing one's own password, with its errors",
            "accounts:choose_password",
            "/staff/password/",
            200,
            click(SEND),
        ),
    ]


def waiting_visits() -> list[Visit]:
    """A caseworker still waiting for access: every caseworker page leads to the
    page that says so (cases.access.caseworker_door)."""
    return [
        Visit("the queue, sent to waiting for access", "accounts:access", "/staff/"),
        Visit("a case, sent to waiting for access", "accounts:access", "/staff/cases/{reference}/"),
        Visit("access to content, waiting for it", "accounts:access", "/staff/access/"),
    ]


ROLES = {
    "public": public_visits,
    "caseworker": caseworker_visits,
    "coordinator": coordinator_visits,
    "admin": admin_visits,
    "newcomer": newcomer_visits,
    "waiting": waiting_visits,
}

# URL patterns that show no page of their own, and why.
NOT_PAGES = {
    "healthz": "JSON for monitoring",
    "api:requests": "the bots' JSON API (tests/test_api_schema.py)",
    "api:openapi": "the API's JSON description",
    "intake:robots": "text for crawlers",
    "intake:favicon": "a redirect to the icon",
    "set_language": "POST, then back to the page it came from",
    "accounts:sign_out": "POST, then the sign-in page",
    "accounts:staff_unlock": "POST, then the staff accounts",
    "reports:regenerate_all": "POST, then the dashboard",
    "reports:regenerate": "POST, then the dashboard",
    "bots:revoke": "POST, then the bot tokens",
    "cases:held_release": "POST, then the held list",
    "accounts:access_grant": "POST, then the access page",
    "audit:verify": "POST, then the audit log",
    "reports:chart": "a chart to download (SVG or PNG)",
    "cases:attachment_image": "an attachment's image (tests/test_attachment_browser.py)",
    "cases:attachment_thumbnail": "an attachment's thumbnail",
    "cases:attachment_download": "an attachment's image to download",
    "cases:assign": "POST, then the case page",
    "cases:note": "POST, then the case page",
    "cases:reply": "POST, then the case page",
    "cases:reply_notice": "POST, then the case page",
    "cases:contact": "POST, then the case page",
    "cases:view_save": "POST, then the queue",
    "cases:view_rename": "POST, then the queue",
    "cases:view_delete": "POST, then the queue",
    "cases:follow_up": "POST, then the case page",
    "cases:digest_address": "POST, then the Due view",
    "admin:login": "our sign-in page is the admin's door",
    "admin:password_change": "a redirect to the staff area's security page",
    "admin:password_change_done": "a redirect to the staff area's security page",
    "admin:logout": "POST",
    "admin:autocomplete": "JSON",
    "admin:jsi18n": "JavaScript",
    "admin:view_on_site": "a redirect",
    "admin:audit_auditentry_add": "nobody adds audit entries (403)",
    "admin:audit_auditentry_delete": "nobody deletes audit entries (403)",
    "admin:auth_user_add": "accounts are made in the staff area (403)",
    "admin:auth_user_delete": "accounts are deactivated, never deleted (403)",
    "admin/audit/auditentry/<path:object_id>/": "a redirect to the change page",
    "admin/auth/user/<path:object_id>/": "a redirect to the change page",
    "admin/(?P<url>.*)$": "the admin's not-found answer",
    "accounts:security_passkey_remove": "POST, then the security page",
    "otp_webauthn:credential-registration-begin": "JSON for the passkey script (POST)",
    "otp_webauthn:credential-registration-complete": "JSON for the passkey script (POST)",
    "otp_webauthn:credential-authentication-begin": "JSON for the passkey script (POST)",
    "otp_webauthn:credential-authentication-complete": "JSON for the passkey script (POST)",
    "otp_webauthn:js-i18n-catalog": "JavaScript (the passkey script's messages)",
}
ERROR_PAGES = {"404", "403", "429", "csrf"}


def site_routes() -> dict[str, str]:
    """Every URL pattern: its name (namespace:name), or its route when it has none."""
    routes = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, text, inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                routes[name if pattern.name else text] = text

    walk(get_resolver().url_patterns, "", "")
    return routes


# --- the world each role sees ------------------------------------------------


def request_record(**values) -> RequestRecord:
    defaults = {
        "received_at": timezone.now(),
        "channel": "web",
        "category": "desertion",
        "service_status": "contract_wartime",
        "location": "front_line",
        "urgency": "critical",
        "legal_articles": ["337", "338"],
        "contact": "@a11y_requester_long_handle_to_wrap",
        "alias": "Sasha",
        "narrative": "They send us back to the front next week.\nI cannot go.",
    }
    return RequestRecord(**{**defaults, **values})


def build_world(role: str, settings) -> tuple[SimpleNamespace, object]:
    """Data that makes every part of the role's pages appear, and who signs in."""
    world = SimpleNamespace(settings=settings)
    alice = make_staff("alice", "caseworker")
    world.bob = make_staff("bob", "caseworker").user.pk
    # A passkey: the second step offers it, the security page lists it.
    WebAuthnCredential.objects.create(
        user=alice.user, name="Laptop", credential_id=b"a11y" * 8, public_key=b"key"
    )
    earlier = submit_request(request_record(received_at=timezone.now() - timedelta(days=40)))
    submission = submit_request(request_record())
    world.code = submission.receipt_code
    world.reference = submission.help_request.reference
    case = Case.objects.get(request=submission.help_request)
    case_services.move_case(case, "triaged", actor=alice.user)
    case_services.assign_case(case, alice.user, actor=alice.user)
    case_services.add_note(case, "Asked for a safe number.", author=alice.user)
    case_services.reply_to_requester(case, "We read your request.", author=alice.user)
    post_requester_message(submission.help_request, "Here is my number.")
    closed = Case.objects.get(request=earlier.help_request)
    case_services.move_case(closed, "rejected", actor=alice.user)
    Case.objects.filter(pk=closed.pk).update(
        last_activity_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS - 2)
    )
    world.closed = earlier.help_request.reference
    world.in_progress = CaseFactory(state="in_progress").request.reference
    case_services.hold_during_flood(CaseFactory(), "d" * 64)
    for urgency in ["low", "normal", "high"] * 18:  # more than one page of the queue
        CaseFactory(request__urgency=urgency)
    for n in range(2):  # found by the beginning of their references
        CaseFactory(request__reference=f"GL-A11Y-000{n}")
    for n, digest in enumerate(["bot-text", "bot-text", "bot-text", "other-text", "real"]):
        case_services.hold_during_flood(CaseFactory(request__reference=f"GL-HE1D-000{n}"), digest)
    for back in range(1, 4):
        store_report(shift(current_month(), -back))
    world.month = label(shift(current_month(), -1))
    add_day_world(world)
    add_undo_world(world, alice)

    staff = {
        "caseworker": alice,
        "coordinator": make_staff("carol", "coordinator"),
        "admin": make_staff("dave", "admin"),
        "waiting": make_staff("erin", "caseworker", with_access=False),
    }
    # Erin has signed in once (her key exists) and waits for a grant.
    set_caseworker_key(staff["waiting"].user, PASSWORD)
    world.device = staff[role].device if role in staff else None
    if role == "admin":
        add_admin_world(world, staff["admin"])
    if role == "newcomer":
        newcomer = make_staff("newcomer", "caseworker", enrolled=False)
        world.pending_device = lambda: account_services.pending_totp_device(newcomer.user)
        issued = make_staff("issued", "caseworker").user
        world.one_time = account_services.issue_one_time_password(issued, actor=alice.user)
    return world, staff.get(role)


def add_admin_world(world, dave) -> None:
    locked = make_staff("locked-out", "coordinator").user
    guard = account_services.guard_for(locked)
    SignInGuard.objects.filter(pk=guard.pk).update(
        locked_until=timezone.now() + timedelta(minutes=15)
    )
    gone = make_staff("gone", "caseworker").user
    account_services.deactivate(gone, actor=dave.user)
    world.gone = gone.pk
    world.not_yet = make_staff("not-yet", "caseworker", enrolled=False).user.pk
    create_bot_token("telegram-bot", "telegram", actor=dave.user)
    old, _token = create_bot_token("old-bot", "email", actor=dave.user)
    revoke_bot_token(old, actor=dave.user)
    # One object of each model in the Django admin, for its change and history pages.
    for model in admin.site._registry:
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"make one {model._meta.label} for the admin's pages"
        setattr(world, f"admin_{model._meta.app_label}_{model._meta.model_name}", first.pk)


# --- checking a page ---------------------------------------------------------


def axe_violations(page) -> list[str]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("options => window.axe.run(document, options)", AXE_OPTIONS)
    found = []
    for violation in results["violations"]:
        where = "; ".join(
            f"{' '.join(node['target'])}: {node['html'][:120]}" for node in violation["nodes"][:5]
        )
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -- {where}")
    return found


def document_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def visit_page(page, base: str, visit: Visit, world) -> list[str]:
    """Open the visit's page and check it at both widths; what is wrong, if anything."""
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    response = page.goto(base + visit.path.format(**vars(world)))
    if visit.act:
        response = visit.act(page, world) or response
    problems = []
    if response is None or response.status != visit.status:
        problems.append(f"status {response and response.status}, expected {visit.status}")
    route = shown_route(page.url)
    if visit.route not in ERROR_PAGES and route != visit.route:
        problems.append(f"shows {route} ({page.url}), expected {visit.route}")
    problems += [f"{DESKTOP} px: {v}" for v in axe_violations(page)]
    page.set_viewport_size({"width": PHONE, "height": 844})
    problems += [f"{PHONE} px: {v}" for v in axe_violations(page)]
    width = document_width(page)
    if width > PHONE:
        problems.append(f"{PHONE} px: the document is {width} px wide: {widest(page)}")
    return [f"{visit.name} ({visit.path}): {problem}" for problem in problems]


def widest(page) -> str:
    """The elements that reach past the screen's right edge."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 8).map(e => Math.round(e.getBoundingClientRect().right) + " " +
                             e.outerHTML.slice(0, 60)).join(" | ")"""
    )


def shown_route(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name if match.url_name else match.route


def browser_problems(page, visits: list[Visit]) -> list[str]:
    """What tests/browser.py recorded, less the error statuses the visits expect."""
    statuses = "|".join(sorted({str(visit.status) for visit in visits if visit.status >= 400}))
    expected = re.compile(
        rf"error response: ({statuses}) |console error: Failed to load resource: "
        rf"the server responded with a status of ({statuses}) "
    )
    return [problem for problem in page.problems if not expected.match(problem)]


# --- the tests ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_passes_axe_at_both_widths(role, open_page, live_server, settings):
    world, staff = build_world(role, settings)
    page = open_page(role)
    if role in ("coordinator", "admin", "waiting"):
        use_signed_in_session(page, live_server.url, staff)
    visits = ROLES[role]()

    failures = []
    for visit in visits:
        try:
            failures += visit_page(page, live_server.url, visit, world)
        except PlaywrightError as error:
            # The visits after it depend on it: report what was found so far.
            failures.append(f"{visit.name} ({page.url}): {str(error).splitlines()[0]}")
            break

    assert not failures, "\n".join(failures)
    assert browser_problems(page, visits) == []


def use_signed_in_session(page, base: str, staff) -> None:
    """A verified session, made through the real sign-in pages by Django's test
    client (password, then a TOTP code), handed to this browser page."""
    client = Client()
    sign_in(client, staff)
    name = django_settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base}])


def test_every_url_is_visited_or_shows_no_page():
    visited = {visit.route for visits in ROLES.values() for visit in visits()}
    routes = set(site_routes())

    missing = routes - visited - set(NOT_PAGES)
    assert not missing, f"add a visit (or a NOT_PAGES entry) for: {sorted(missing)}"
    assert not (set(NOT_PAGES) - routes), "NOT_PAGES names patterns that are gone"
    assert not (visited - routes - ERROR_PAGES), "visits name patterns that are gone"


@pytest.mark.django_db
def test_what_shows_no_page_answers_get_with_no_page(client):
    everyone = make_staff("omni", "caseworker", "coordinator", "admin")
    samples = {
        "pk": str(everyone.user.pk),
        "reference": CaseFactory().request.reference,
        "month": "2024-01",
        "object_id": "1",
        "content_type_id": "1",
        "url": "no-such-page/",
        "name": "requests",
        "file_format": "svg",
        "uid": "0" * 32,
    }
    sign_in(client, everyone)
    routes = site_routes()
    for key in NOT_PAGES:
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples[m.group(1)], routes[key])
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples[m.group(1)], path)
        path = path.replace("^", "").replace("$", "")
        response = client.get(path)
        is_page = response.status_code == 200 and "text/html" in response.get("Content-Type", "")
        assert not is_page, f"{key} ({path}) shows a page: give it a visit"
