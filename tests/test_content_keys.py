"""
Content keys that only caseworkers hold (docs/encryption.md): what the server
alone cannot read, who can grant access, and how it is lost, recovered and
destroyed. Each test acts through the real pages, commands and services.
"""

import hashlib
import hmac
import io
import re
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver

from cases import services as case_services
from cases.models import Case, CaseNote
from encryption import content
from encryption import services as key_services
from encryption.fingerprint import normalise_contact
from encryption.keys import key_materials, purpose_key
from encryption.models import ContentGrant, OrganisationKey
from encryption.server_secrets import server_secret
from encryption.session import COOKIE_NAME
from intake.models import HelpRequest, RequestMessage
from intake.services import post_requester_message, requester_thread, submit_request
from reports.services import monthly_report
from tests.content_keys import opened
from tests.staffing import PASSWORD, confirmed_post, enter_password, make_staff, sign_in, totp_code
from tests.test_accessibility import request_record

pytestmark = pytest.mark.django_db

NARRATIVE = "Narrative only a caseworker may read 7301"
CONTACT = "+7 900 123-73-01"
NOTE = "Staff note only a caseworker may read 7302"
REPLY = "Reply only the requester and caseworkers may read 7303"
REQUESTER_MESSAGE = "Requester message only caseworkers may read 7304"
SECRETS = (NARRATIVE, NOTE, REPLY, REQUESTER_MESSAGE)


@pytest.fixture
def story(alice):
    """A request with a note, a reply and a message from the requester."""
    submission = submit_request(request_record(narrative=NARRATIVE, contact=CONTACT))
    case = Case.objects.get(request=submission.help_request)
    case_services.add_note(case, NOTE, author=alice.user)
    case_services.reply_to_requester(case, REPLY, author=alice.user)
    post_requester_message(submission.help_request, REQUESTER_MESSAGE)
    return submission


def Client() -> DjangoClient:
    """A browser of its own, having chosen English with the language switch."""
    client = DjangoClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def case_url(submission) -> str:
    return f"/staff/cases/{submission.help_request.reference}/"


def shows_content(response) -> bool:
    text = response.content.decode("utf-8", "replace")
    return any(secret in text for secret in SECRETS)


# --- the server alone ----------------------------------------------------------


def test_a_caseworker_with_access_reads_everything_on_the_case_page(client, alice, story):
    sign_in(client, alice)
    page = client.get(case_url(story)).content.decode()
    for secret in (*SECRETS, CONTACT):
        assert secret in page


def every_value_the_orm_gives() -> str:
    found = []
    for model in apps.get_models():
        for row in model._base_manager.all():
            for field in model._meta.concrete_fields:
                value = getattr(row, field.attname)
                if isinstance(value, bytes | memoryview):
                    value = bytes(value).decode("utf-8", "replace")
                found.append(str(value))
    return "\n".join(found)


def test_no_model_gives_back_content_without_a_caseworker(story):
    everything = every_value_the_orm_gives()
    for secret in (*SECRETS, CONTACT):
        assert secret not in everything


def site_paths(samples: dict[str, str]) -> list[str]:
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern) and "(?P" not in text:
                name = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples.get(m.group(1), "1"), text)
                paths.append("/" + name)

    walk(get_resolver().url_patterns, "")
    return paths


def test_no_page_shows_content_to_anyone_without_a_caseworker_session(client, story, alice):
    """Every GET of the site, as anonymous, every other role, a caseworker still
    waiting for access, and a caseworker whose session lost its cookie."""
    samples = {"reference": story.help_request.reference, "month": "2024-01", "pk": "1"}
    paths = site_paths(samples)
    people = {
        "coordinator": make_staff("carol", "coordinator"),
        "admin": make_staff("dave", "admin"),
        "newcomer": make_staff("nina", "caseworker", with_access=False),
        "everything but a caseworker": make_staff("omni", "coordinator", "admin"),
    }
    visitors = [("anonymous", Client())]
    for name, staff in people.items():
        visitor = Client()
        sign_in(visitor, staff)
        visitors.append((name, visitor))
    cookieless = Client()
    sign_in(cookieless, alice)
    del cookieless.cookies[COOKIE_NAME]
    visitors.append(("caseworker without the cookie", cookieless))
    for name, visitor in visitors:
        for path in paths:
            response = visitor.get(path)
            assert not shows_content(response), f"{name} read content at {path}"


def test_a_dump_of_sessions_and_the_cache_with_every_other_cookie_opens_nothing(
    client, alice, story
):
    sign_in(client, alice)
    assert shows_content(client.get(case_url(story)))
    stolen = Client()
    for name, morsel in client.cookies.items():
        if name != COOKIE_NAME:
            stolen.cookies[name] = morsel.value
    # The session row (with its sealed copy of the keys) is all there, and so
    # is every cookie but the one that holds the key to it.
    assert Session.objects.exists()
    assert not shows_content(stolen.get(case_url(story)))
    # Nothing in the session table or the cache opens the sealed copy either.
    candidates = [s.session_key for s in Session.objects.all()]
    candidates += [str(s.get_decoded()) for s in Session.objects.all()]
    candidates += [morsel.value for morsel in stolen.cookies.values()]
    sealed = next(s.get_decoded()["content_keys"] for s in Session.objects.all() if s.get_decoded())
    for candidate in candidates:
        key = hashlib.sha256(candidate.encode()).digest()
        with pytest.raises(content.CannotOpen):
            content.open_session(key, sealed, alice.user.pk)
    assert not any(
        secret.encode() in repr(cache.__dict__).encode() for secret in (*SECRETS, CONTACT)
    )


def server_keys() -> list[bytes]:
    """Every key the server holds or derives without a caseworker."""
    keys = [settings.ENCRYPTION_KEY.encode(), settings.SECRET_KEY.encode()]
    for material in key_materials():
        keys += [material.cipher, material.mac]
    for purpose in (
        "rate-limit",
        "flood-digest",
        "telegram-chat",
        "staff-backup-codes",
        "staff-sign-in",
    ):
        keys.append(purpose_key(purpose))
    keys.append(server_secret("receipt-hmac"))
    return keys


def test_no_server_key_tells_whether_a_contact_ever_wrote(client, alice, story):
    sign_in(client, alice)
    client.get(case_url(story))  # the caseworker's session fingerprints the request
    stored = HelpRequest.objects.get(pk=story.help_request.pk).contact_fingerprint
    assert stored.startswith("k")
    digest = stored.split(":", 1)[1]
    normalised = normalise_contact(CONTACT)
    for key in server_keys():
        for message in (normalised, CONTACT):
            for mac in (
                hmac.new(key, message.encode(), hashlib.sha256).hexdigest(),
                hmac.new(message.encode(), key, hashlib.sha256).hexdigest(),
                hashlib.sha256(key + message.encode()).hexdigest(),
            ):
                assert mac != digest


def test_a_request_from_the_web_form_carries_no_fingerprint_until_a_caseworker_meets_it(story):
    assert HelpRequest.objects.get(pk=story.help_request.pk).contact_fingerprint == ""


# --- who can give access ---------------------------------------------------------


def choose_password_and_enrol(client, username: str, issued: str, password: str) -> None:
    enter_password(client, username, issued)
    client.post(
        "/staff/password/",
        {"current_password": issued, "new_password": password, "new_password_again": password},
    )
    from django.contrib.auth import get_user_model

    from accounts.services import pending_totp_device

    device = pending_totp_device(get_user_model().objects.get(username=username))
    client.post("/staff/enrol/", {"code": totp_code(device)})


def test_an_admin_made_caseworker_reads_only_after_a_caseworker_grants_access(alice, story):
    dave = make_staff("dave", "admin")
    admin = Client()
    sign_in(admin, dave)
    page = admin.post(
        "/staff/accounts/new/", {"username": "newcomer", "role": "caseworker"}
    ).content.decode()
    issued = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    newcomer = Client()
    choose_password_and_enrol(newcomer, "newcomer", issued, "the newcomer's own passphrase")
    # Waiting for access: no queue, no case, only the page that says so.
    for path in ("/staff/", case_url(story)):
        waiting = newcomer.get(path, follow=True)
        assert waiting.redirect_chain == [("/staff/access/", 302)]
        assert "You are waiting for access" in waiting.content.decode()
        assert not shows_content(waiting)
    # The admin cannot grant: the page is not theirs, and a forged POST does nothing.
    assert admin.post("/staff/access/2/grant/", {"compared": "yes"}).status_code == 403

    granter = Client()
    sign_in(granter, alice)
    newcomer_user = ContentGrant._meta.get_field("user").related_model.objects.get(
        username="newcomer"
    )
    assert "newcomer" in granter.get("/staff/access/").content.decode()
    granter.post(f"/staff/access/{newcomer_user.pk}/grant/", {"compared": "yes"})

    # The newcomer's current session was unlocked before the grant: sign in again.
    again = Client()
    enter_password(again, "newcomer", "the newcomer's own passphrase")
    from accounts.models import AuthenticatorDevice

    again.post(
        "/staff/verify/",
        {"code": totp_code(AuthenticatorDevice.objects.get(user=newcomer_user, confirmed=True))},
    )
    assert shows_content(again.get(case_url(story)))


def test_a_grant_needs_the_safety_code_compared(client, alice):
    waiting = make_staff("nina", "caseworker", with_access=False)
    sign_in(client, alice)
    client.post(f"/staff/access/{waiting.user.pk}/grant/")
    assert not ContentGrant.objects.filter(user=waiting.user).exists()


def test_an_admin_reset_takes_content_access_away(alice, bob, story):
    dave = make_staff("dave", "admin")
    admin = Client()
    sign_in(admin, dave)
    warning = admin.post(f"/staff/accounts/{bob.user.pk}/reset-device/").content.decode()
    assert "loses access to case content" in warning
    page = confirmed_post(admin, f"/staff/accounts/{bob.user.pk}/reset-device/").content.decode()
    issued = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    assert not ContentGrant.objects.filter(user=bob.user).exists()
    # Whoever holds the issued password (the admin) gets an account with no access.
    taken_over = Client()
    choose_password_and_enrol(taken_over, "bob", issued, "a password the admin chose")
    assert taken_over.get("/staff/").url == "/staff/access/"
    assert not shows_content(taken_over.get(case_url(story), follow=True))


def test_a_password_change_keeps_access(client, alice, story):
    sign_in(client, alice)
    client.post(
        "/staff/security/password/",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new caseworker passphrase",
            "new_password_again": "a brand new caseworker passphrase",
        },
    )
    assert shows_content(client.get(case_url(story)))
    assert key_services.unlock(alice.user, "a brand new caseworker passphrase")
    assert key_services.unlock(alice.user, PASSWORD) == {}


def test_signing_out_destroys_the_sessions_keys(client, alice, story):
    sign_in(client, alice)
    client.post("/staff/logout/")
    assert not any("content_keys" in s.get_decoded() for s in Session.objects.all())


# --- bootstrap, recovery, shred ----------------------------------------------------


def feed_stdin(monkeypatch, *lines: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))


def test_the_first_caseworker_bootstraps_and_the_recovery_key_restores_access(monkeypatch):
    key_services.shred(actor="test")
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("create_staff", "first", "--role", "caseworker", stdout=out)
    recovery = re.search(r"TROPA-RK1-[A-Z0-9-]+", out.getvalue()).group(0)
    assert OrganisationKey.objects.filter(state="active").count() == 1
    submission = submit_request(request_record(narrative=NARRATIVE))

    # Every password is lost: an admin issues a new one, the key goes with it.
    first = ContentGrant._meta.get_field("user").related_model.objects.get(username="first")
    key_services.forget_caseworker(first, actor="test", reason="lost")
    key_services.set_caseworker_key(first, "a new password after the loss")
    feed_stdin(monkeypatch, recovery)
    call_command("recover_access", "first", stdout=io.StringIO())

    keys = key_services.unlock(first, "a new password after the loss")
    from encryption.access import ContentKeys

    help_request = HelpRequest.objects.get(pk=submission.help_request.pk)
    assert ContentKeys(keys).open_one(help_request, "narrative") == NARRATIVE


def test_a_wrong_recovery_key_restores_nothing(monkeypatch, alice):
    feed_stdin(monkeypatch, content.format_recovery_key(content.new_recovery_secret()))
    with pytest.raises(Exception, match="opens no organisation key"):
        call_command("recover_access", "alice", stdout=io.StringIO())


def test_shredding_makes_every_value_unreadable_and_leaves_every_report(monkeypatch, story):
    month = story.help_request.received_at.strftime("%Y-%m")
    from reports.months import parse_month

    before = monthly_report(parse_month(month))
    out = io.StringIO()
    call_command("shred_content_keys", "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and OrganisationKey.objects.exists()
    feed_stdin(monkeypatch, "shred", "no")
    with pytest.raises(Exception, match="Not confirmed"):
        call_command("shred_content_keys", stdout=io.StringIO())
    assert OrganisationKey.objects.exists()

    feed_stdin(monkeypatch, "shred", "yes, destroy every key")
    call_command("shred_content_keys", stdout=io.StringIO())

    for item in [
        HelpRequest.objects.get(pk=story.help_request.pk),
        *CaseNote.objects.all(),
        *RequestMessage.objects.all(),
    ]:
        field = "narrative" if isinstance(item, HelpRequest) else "body"
        with pytest.raises(content.CannotOpen):
            opened(item, field)  # even with the organisation key the test kept
    assert monthly_report(parse_month(month)) == before


# --- the requester's side ------------------------------------------------------------


def test_the_status_page_shows_the_thread_with_the_code(client, story):
    page = client.post("/status/", {"code": story.receipt_code}).content.decode()
    assert REPLY in page and REQUESTER_MESSAGE in page
    assert NARRATIVE not in page and NOTE not in page


def test_the_thread_opens_with_the_code_and_with_nothing_else(story):
    help_request = HelpRequest.objects.get(pk=story.help_request.pk)
    texts = [m.text for m in requester_thread(help_request, story.receipt_code)]
    assert texts == [REPLY, REQUESTER_MESSAGE]
    other = submit_request(request_record())
    # Another requester's code opens none of them (each shows as not readable).
    assert [m.text for m in requester_thread(help_request, other.receipt_code)] == [None, None]
    # The server's keys are no way in: the message key is sealed to the
    # organisation and to the requester, and neither private key is stored.
    message = RequestMessage.objects.filter(sender="staff").get()
    for key in server_keys():
        with pytest.raises((content.CannotOpen, ValueError)):
            content.open_sealed(
                key[:32].ljust(32, b"\0"), bytes(message.requester_key), content.REQUESTER_INFO
            )
