"""
A staff form posted after the session ended loses nothing: the sign-in page
says why it is shown, and after signing in again (password, second factor,
content unlock) the page the form came from shows the text back in its box.
The text is kept sealed under a key only the browser holds (encryption.drafts).
"""

import logging
from importlib import import_module

import pytest
from django.conf import settings

from cases.models import CaseNote
from encryption import drafts
from encryption.models import KeptDraft
from intake.models import RequestMessage
from tests.conftest import remember_sensitive
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, sign_in, totp_code
from tests.test_reply_templates import in_the_database

pytestmark = pytest.mark.django_db

TYPED = "Twenty minutes of careful writing about the crossing near the river"
remember_sensitive(TYPED)  # the log scan of a full run looks for it too


def end_session(client) -> None:
    """The server forgets the session (idle expiry); the browser keeps its cookies."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    store(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).delete()


def sign_in_again(client, staff, next_url: str):
    client.post(
        "/staff/login/", {"username": staff.username, "password": PASSWORD, "next": next_url}
    )
    return client.post("/staff/verify/", {"code": totp_code(staff.device)})


@pytest.fixture
def case():
    return CaseFactory(state="triaged")


def test_a_reply_posted_after_the_session_ended_comes_back_after_sign_in(
    client, alice, case, caplog
):
    caplog.set_level(logging.DEBUG)
    sign_in(client, alice)
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)

    refused = client.post(f"{page}reply/", {"body": TYPED})

    assert refused.status_code == 302
    assert refused["Location"] == "/staff/login/?next=" + page.replace("/", "%2F")
    assert TYPED not in refused["Location"]
    sign_in_page = client.get(refused["Location"]).content.decode()
    assert "Your session ended" in sign_in_page
    assert "What you wrote is kept" in sign_in_page
    assert not RequestMessage.objects.filter(request=case.request).exists()
    # Between the two: the text is nowhere in clear, neither stored nor in a cookie.
    assert KeptDraft.objects.count() == 1
    assert not in_the_database(TYPED)
    assert all(TYPED not in morsel.value for morsel in client.cookies.values())

    landed = sign_in_again(client, alice, page)

    assert landed["Location"] == page
    body = client.get(page).content.decode()
    assert f">\n{TYPED}</textarea>" in body
    assert not KeptDraft.objects.exists()
    assert client.cookies[drafts.COOKIE_NAME].value == ""  # deleted
    assert TYPED not in caplog.text


def test_a_draft_comes_back_once(client, alice, case):
    sign_in(client, alice)
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)
    client.post(f"{page}notes/", {"body": TYPED})
    sign_in_again(client, alice, page)

    first = client.get(page).content.decode()
    again = client.get(page).content.decode()

    assert f">\n{TYPED}</textarea>" in first  # the note box this time
    assert TYPED not in again
    assert not CaseNote.objects.exists()


def test_a_move_posted_after_the_session_ended_lands_on_the_case_page_not_a_405(
    client, alice, case
):
    sign_in(client, alice)
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)

    refused = client.post(f"{page}move/", {"to_state": "in_progress", "expected_state": "triaged"})
    sign_in_page = client.get(refused["Location"]).content.decode()
    landed = sign_in_again(client, alice, page)

    assert "nothing was changed" in sign_in_page
    assert landed["Location"] == page
    assert client.get(page).status_code == 200
    case.refresh_from_db()
    assert case.state == "triaged"
    assert not KeptDraft.objects.exists()  # nothing typed, nothing kept


def test_a_bulk_action_lands_on_the_queue(client, alice, case):
    sign_in(client, alice)
    end_session(client)

    refused = client.post("/staff/bulk/", {"action": "reject", "cases": [case.request.reference]})

    assert refused["Location"] == "/staff/login/?next=%2Fstaff%2F"


def test_a_template_typed_when_the_session_ended_comes_back_on_its_form(client, alice):
    sign_in(client, alice)
    end_session(client)

    refused = client.post(
        "/staff/templates/new/", {"title": "Crossing", "language": "en", "body": TYPED}
    )
    sign_in_again(client, alice, "/staff/templates/new/")
    body = client.get("/staff/templates/new/").content.decode()

    assert refused["Location"] == "/staff/login/?next=%2Fstaff%2Ftemplates%2Fnew%2F"
    assert f">\n{TYPED}</textarea>" in body
    assert 'value="Crossing"' in body


def test_a_draft_kept_for_one_case_does_not_open_on_another(client, alice, case):
    other = CaseFactory(state="triaged")
    sign_in(client, alice)
    end_session(client)
    client.post(f"/staff/cases/{case.request.reference}/reply/", {"body": TYPED})
    sign_in_again(client, alice, f"/staff/cases/{other.request.reference}/")

    elsewhere = client.get(f"/staff/cases/{other.request.reference}/").content.decode()
    back = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert TYPED not in elsewhere
    assert f">\n{TYPED}</textarea>" in back


def test_an_expired_draft_is_gone(client, alice, case, settings):
    settings.DRAFT_KEEP_MINUTES = 0
    sign_in(client, alice)
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)
    client.post(f"{page}reply/", {"body": TYPED})
    sign_in_again(client, alice, page)

    assert TYPED not in client.get(page).content.decode()


def test_the_row_alone_or_the_cookie_alone_opens_nothing(client, alice, case):
    sign_in(client, alice)
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)
    client.post(f"{page}reply/", {"body": TYPED})
    draft_id = client.cookies[drafts.COOKIE_NAME].value.partition(".")[0]
    # Another browser's key for this row: nothing comes back, and the row stays.
    client.cookies[drafts.COOKIE_NAME] = f"{draft_id}.{'A' * 43}"
    sign_in_again(client, alice, page)

    assert TYPED not in client.get(page).content.decode()
    assert KeptDraft.objects.filter(id=draft_id).exists()


def test_a_draft_kept_in_a_browser_known_for_one_account_opens_for_it_only(
    client, alice, bob, case
):
    sign_in(client, alice)  # the browser is now known for alice
    page = f"/staff/cases/{case.request.reference}/"
    end_session(client)
    client.post(f"{page}reply/", {"body": TYPED})

    sign_in_again(client, bob, page)
    for_bob = client.get(page).content.decode()
    client.post("/staff/logout/")
    sign_in_again(client, alice, page)
    for_alice = client.get(page).content.decode()

    assert TYPED not in for_bob
    assert f">\n{TYPED}</textarea>" in for_alice


def test_a_search_posted_after_the_session_ended_lands_on_the_search_page(client, alice):
    sign_in(client, alice)
    end_session(client)

    refused = client.post("/staff/search/", {"q": "GL-A"})

    assert refused["Location"] == "/staff/login/?next=%2Fstaff%2Fsearch%2F"
