"""
A shred leaves nothing that any key or receipt code opens (third security
review, item 2): not the requester's copies of the message keys, not the
receipt codes, not the flood digests, not the reply templates; and the command
says what remains. The bot's side is in tests/telegram/test_shred.py.
"""

import io
import re
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from audit.models import AuditEntry
from cases import services as case_services
from cases.models import Case
from encryption.fields import keyring
from encryption.management.commands.shred_content_keys import REMAINS
from encryption.models import ServerSecret
from encryption.padding import pad
from intake import receipts
from intake.models import HelpRequest, RequestMessage
from intake.services import find_by_receipt, requester_thread
from tests.conftest import remember_sensitive
from tests.intake_helpers import form_data, submit
from tests.staffing import make_staff

pytestmark = pytest.mark.django_db

REPLY = "Meet our volunteer at the station on Friday 6601"
ANSWER = "I will be there, I am in Belgorod now 6602"


def shred(monkeypatch) -> str:
    """The command, confirmed twice as an operator would type it; what it printed."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("shred\nyes, destroy every key\n"))
    out = io.StringIO()
    call_command("shred_content_keys", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def status(code: str):
    """POST /status/ from a browser of its own, in English."""
    client = Client()
    client.cookies["django_language"] = "en"
    return client.post("/status/", {"code": code})


def as_seen(response, code: str) -> str:
    """The page, without what differs between any two answers: the code as typed
    (kept in the box to be corrected) and the CSRF token."""
    page = response.content.decode().replace(code, "THE-CODE")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)


def unknown_code_like(code: str) -> str:
    """A well-formed code that was never issued, with the same first group."""
    other = receipts.new_code()
    return receipts.formatted(code.replace("-", "")[:4] + other[4:])


@pytest.fixture
def answered(client):
    """A request sent through the form, answered by a caseworker, answered back."""
    remember_sensitive(REPLY, ANSWER)
    code = submit(client)
    help_request = find_by_receipt(code)
    staff = make_staff("alice", "caseworker")
    case_services.reply_to_requester(help_request.case, REPLY, author=staff.user)
    client.post("/status/message/", {"code": code, "body": ANSWER})
    assert REPLY in status(code).content.decode()  # the thread opens with the code
    return code


def test_after_a_shred_a_receipt_code_gets_exactly_the_answer_of_an_unknown_code(
    monkeypatch, answered
):
    shred(monkeypatch)

    unknown = unknown_code_like(answered)
    issued, never_issued = status(answered), status(unknown)

    assert issued.status_code == never_issued.status_code == 200
    assert as_seen(issued, answered) == as_seen(never_issued, unknown)
    assert REPLY not in issued.content.decode() and ANSWER not in issued.content.decode()
    assert "No request matches this code" in issued.content.decode()


def test_after_a_shred_nothing_stored_matches_or_opens_a_receipt_code(monkeypatch, answered):
    help_request = find_by_receipt(answered)
    hmac_key_before = ServerSecret.objects.get(name=receipts.SERVER_KEY).value

    shred(monkeypatch)

    help_request.refresh_from_db()
    assert (help_request.receipt_selector, help_request.receipt_hash) == ("", "")
    assert bytes(help_request.requester_public_key) == b""
    assert [bytes(m.requester_key) for m in RequestMessage.objects.all()] == [b"", b""]
    assert hmac_key_before not in ServerSecret.objects.values_list("value", flat=True)
    assert find_by_receipt(answered) is None
    # Even the requester's key, which the code gives back, opens no message.
    assert [m.text for m in requester_thread(help_request, answered)] == [None, None]
    entry = AuditEntry.objects.get(action="content_key.shred")
    assert (entry.detail["receipt_codes"], entry.detail["requester_keys"]) == (1, 2)


def test_after_a_shred_no_flood_digest_is_left(monkeypatch, client, settings):
    settings.INTAKE_RATE_LIMIT, settings.INTAKE_GLOBAL_LIMIT = "0", "1/h"
    for n in range(3):
        client.post("/", form_data(narrative=f"Cheap tickets, write now {n % 2}"))
    assert Case.objects.exclude(flood_digest="").count() == 2

    shred(monkeypatch)

    assert list(Case.objects.values_list("flood_digest", flat=True)) == ["", "", ""]
    assert Case.objects.filter(flood__isnull=False).count() == 2  # still held, for a person
    assert AuditEntry.objects.get(action="content_key.shred").detail["flood_digests"] == 2


def test_the_dry_run_counts_everything_and_destroys_nothing(answered):
    out = io.StringIO()
    call_command("shred_content_keys", "--dry-run", stdout=out)

    assert "1 receipt code(s)" in out.getvalue()
    assert "2 message key(s) sealed to requesters" in out.getvalue()
    assert "Dry run: nothing was destroyed." in out.getvalue()
    assert REPLY in status(answered).content.decode()


def test_the_commands_last_words_say_exactly_what_remains(monkeypatch, answered):
    printed = shred(monkeypatch)

    assert (
        printed.splitlines()[-1]
        == REMAINS
        == (
            "What remains: each request's state (with its assignment and the categories the "
            "statistics count), its dates to the hour, the audit log's entries and the statistics; "
            "staff accounts stay, without keys. Nothing else can be read or matched: no narrative, "
            "contact, note, message, reply template or receipt code."
        )
    )
    assert "Shredded: 1 receipt code(s)" in printed
    assert HelpRequest.objects.count() == 1  # the request stays, for the statistics


OLD_NARRATIVE = "Stored before content keys and never sealed 6604"


def test_after_a_shred_content_never_sealed_is_erased_too(monkeypatch, answered):
    """An installation that never ran seal_content keeps older values under
    ENCRYPTION_KEY alone: no destroyed key would make them unreadable."""
    help_request = find_by_receipt(answered)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_helprequest SET narrative = %s, content_key = %s WHERE id = %s",
            [keyring().encrypt(pad(OLD_NARRATIVE.encode())), b"", help_request.pk],
        )
    help_request.refresh_from_db()
    assert str(help_request.narrative) == OLD_NARRATIVE  # the server reads it alone

    printed = shred(monkeypatch)

    help_request.refresh_from_db()
    assert help_request.narrative == help_request.contact == ""
    assert "the content of 1 row(s) never sealed" in printed  # the dry run says so first
    assert AuditEntry.objects.get(action="content_key.shred").detail["unsealed_rows"] == 1


def test_after_a_shred_a_bots_retry_key_gives_no_code_back(monkeypatch, client):
    """A retry remakes its code from the key and a server secret: both go."""
    import json

    from intake.models import SubmissionKey
    from intake.services import create_bot_token
    from tests.staffing import make_staff

    token = create_bot_token("telegram-bot", "telegram", actor=make_staff("a", "admin").user)[1]
    body = {
        "category": "desertion", "service_status": "mobilised", "location": "front_line",
        "urgency": "high", "legal_articles": [], "narrative": "Help me", "language": "ru",
    }  # fmt: skip
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_IDEMPOTENCY_KEY": "k" * 32}
    first = client.post("/api/v1/requests", json.dumps(body), "application/json", **headers)
    code = first.json()["receipt_code"]

    shred(monkeypatch)

    assert not SubmissionKey.objects.exists()
    assert not ServerSecret.objects.filter(name=receipts.RETRY_KEY).exists()
    assert find_by_receipt(code) is None
