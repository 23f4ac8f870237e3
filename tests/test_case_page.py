"""The case page: decrypted content for caseworkers only, every read audited, moves."""

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from cases.models import Case, CaseEvent, CaseNote
from encryption.fields import Sealed
from tests.content_keys import opened
from tests.factories import CaseFactory
from tests.staffing import confirmed_post, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    return CaseFactory(
        request__narrative="I was told to go back to the front",
        request__contact="@soldier_handle",
        request__unit="unit 01234",
    )


def url(case, action: str = "") -> str:
    return f"/staff/cases/{case.request.reference}/{action + '/' if action else ''}"


def test_a_caseworker_reads_the_request(client, alice, case):
    sign_in(client, alice)
    body = client.get(url(case)).content.decode()

    assert "I was told to go back to the front" in body
    assert "@soldier_handle" in body
    assert "unit 01234" in body


def test_every_read_is_audited(client, alice, case):
    sign_in(client, alice)
    client.get(url(case))
    client.get(url(case))

    views = AuditEntry.objects.filter(action="case.view", target=case.request.reference)
    assert views.count() == 2
    assert {entry.actor for entry in views} == {"alice"}


def test_a_coordinator_cannot_read_any_narrative(client, carol, case):
    sign_in(client, carol)
    response = client.get(url(case))

    assert response.status_code == 403
    assert b"I was told to go back" not in response.content
    assert not AuditEntry.objects.filter(action="case.view").exists()


def test_an_unknown_reference_is_404(client, alice):
    sign_in(client, alice)

    assert client.get("/staff/cases/GL-NOPE-NOPE/").status_code == 404


def test_it_offers_one_button_per_allowed_move(client, alice, case):
    sign_in(client, alice)
    body = client.get(url(case)).content.decode()

    assert 'name="to_state" value="triaged"' in body
    assert 'name="to_state" value="rejected"' in body
    assert 'name="to_state" value="resolved"' not in body


def test_a_move_is_made_and_recorded(client, alice, case):
    sign_in(client, alice)
    response = client.post(url(case, "move"), {"to_state": "triaged", "expected_state": "new"})

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "triaged"
    assert CaseEvent.objects.get(case=case).actor == alice.user
    assert AuditEntry.objects.get(action="case.move").detail == {
        "from_state": "new",
        "to_state": "triaged",
    }


def test_a_move_from_a_stale_page_changes_nothing_and_says_why(client, alice, case):
    sign_in(client, alice)
    client.post(url(case, "move"), {"to_state": "triaged", "expected_state": "new"})
    response = client.post(
        url(case, "move"), {"to_state": "rejected", "expected_state": "new"}, follow=True
    )

    assert Case.objects.get(pk=case.pk).state == "triaged"
    assert "in the meantime; nothing was changed" in response.content.decode()


def test_an_illegal_move_changes_nothing_and_says_why(client, alice, case):
    sign_in(client, alice)
    response = client.post(
        url(case, "move"), {"to_state": "closed", "expected_state": "new"}, follow=True
    )

    assert Case.objects.get(pk=case.pk).state == "new"
    assert "cannot move from" in response.content.decode()


def test_resolving_asks_for_the_outcome(client, alice):
    case = CaseFactory(state="in_progress")
    sign_in(client, alice)
    refused = client.post(
        url(case, "move"), {"to_state": "resolved", "expected_state": "in_progress"}, follow=True
    )
    assert "Choose an outcome" in refused.content.decode()
    assert Case.objects.get(pk=case.pk).state == "in_progress"

    confirmed_post(
        client,
        url(case, "move"),
        {"to_state": "resolved", "expected_state": "in_progress", "outcome": "left_country"},
    )
    case.refresh_from_db()
    assert (case.state, case.outcome) == ("resolved", "left_country")


def test_assign_to_me_and_reassign(client, alice, bob, case):
    sign_in(client, alice)
    client.post(url(case, "assign"), {"assignee": "me"})
    assert Case.objects.get(pk=case.pk).assigned_to == alice.user

    client.post(url(case, "assign"), {"assignee": str(bob.user.pk)})
    assert Case.objects.get(pk=case.pk).assigned_to == bob.user
    assert AuditEntry.objects.filter(action="case.assign").count() == 2


def test_reassigning_to_someone_who_is_not_a_caseworker_is_refused(client, alice, carol, case):
    sign_in(client, alice)
    client.post(url(case, "assign"), {"assignee": str(carol.user.pk)})

    assert Case.objects.get(pk=case.pk).assigned_to is None


def test_a_note_is_encrypted_at_rest_and_its_writing_audited_without_its_text(client, alice, case):
    sign_in(client, alice)
    client.post(url(case, "notes"), {"body": "Called back, safe house arranged"})

    note = CaseNote.objects.get(case=case)
    assert isinstance(note.body, Sealed)
    assert opened(note, "body")["body"] == "Called back, safe house arranged"
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM cases_casenote")
        (raw,) = cursor.fetchone()
    assert b"safe house" not in bytes(raw)
    entry = AuditEntry.objects.get(action="case.note")
    assert "safe house" not in str(entry.detail) + entry.target
    assert "Called back, safe house arranged" in client.get(url(case)).content.decode()


def test_an_empty_note_is_refused(client, alice, case):
    sign_in(client, alice)
    client.post(url(case, "notes"), {"body": "   "})

    assert not CaseNote.objects.exists()


def test_the_page_runs_a_constant_number_of_queries(
    client, alice, case, django_assert_max_num_queries
):
    sign_in(client, alice)
    client.post(url(case, "notes"), {"body": "note 0"})
    client.get(url(case))
    with CaptureQueriesContext(connection) as one_note:
        client.get(url(case))
    for n in range(1, 15):
        client.post(url(case, "notes"), {"body": f"note {n}"})
    # Opening content adds the envelopes (the request's, the notes' and the
    # messages', in one query) and the organisation key states; the bounded
    # fingerprint backlog adds its look (a savepoint, a select, a release).
    # The timeline adds its moves and its assignments (from the audit log);
    # the reply box, the list of reply templates; the door, the caseworker's grant;
    # the timeline's page, how many notes and messages there are (one query);
    # the related requests, merged into this one or linked with it (one query);
    # the attachments, one query however many.
    with django_assert_max_num_queries(31) as fifteen_notes:
        client.get(url(case))
    assert len(fifteen_notes.captured_queries) == len(one_note.captured_queries)


def test_every_id_on_the_case_page_is_unique_so_each_label_finds_its_field(client, alice):
    import re
    from collections import Counter

    case = CaseFactory()
    sign_in(client, alice)
    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [name for name, count in ids.items() if count > 1] == []
    for target in re.findall(r'<label[^>]*\sfor="([^"]+)"', page):
        assert ids[target] == 1, target


def test_the_read_is_audited_before_anything_is_decrypted(client, alice, case, monkeypatch):
    """A failing audit write leaves the content unopened: no entry, no read."""
    from cases import access
    from encryption import content

    labels_opened = []
    real_open_text = content.open_text

    def observed_open_text(*args, **kwargs):
        labels_opened.append(args[2] if len(args) > 2 else kwargs.get("label"))
        return real_open_text(*args, **kwargs)

    def failing_record(*args, **kwargs):
        raise DatabaseError("the audit log cannot be written")

    sign_in(client, alice)
    monkeypatch.setattr(content, "open_text", observed_open_text)
    monkeypatch.setattr(access, "record", failing_record)
    client.raise_request_exception = False

    response = client.get(url(case))

    assert response.status_code == 500
    assert labels_opened == []
    assert "I was told to go back to the front" not in response.content.decode()


def test_a_long_thread_shows_its_newest_entries_and_older_ones_on_request(
    client, alice, case, settings
):
    """2,000 messages once made the page 20 MB; now it opens one page of them."""
    from intake.services import post_requester_message

    settings.CASE_TIMELINE_PAGE = 10
    settings.REQUESTER_MESSAGES_PER_DAY = settings.REQUESTER_MESSAGES_IN_ALL = 100
    for n in range(25):
        post_requester_message(case.request, f"message number {n:03d}")
    sign_in(client, alice)
    opened_before = AuditEntry.objects.filter(action="case.view").count()

    first = client.get(url(case)).content.decode()
    older = client.get(url(case) + "?shown=20").content.decode()

    assert "message number 024" in first and "message number 015" in first
    assert "message number 014" not in first
    assert "15 older notes and messages are not shown." in first
    assert 'href="?shown=20#messages"' in first
    assert "message number 005" in older and "message number 004" not in older
    assert AuditEntry.objects.filter(action="case.view").count() == opened_before + 2


@pytest.mark.parametrize("asked", ["-5", "x", "999999999999"])
def test_a_strange_page_size_is_bounded(client, alice, case, asked):
    sign_in(client, alice)

    response = client.get(url(case) + f"?shown={asked}")

    assert response.status_code == 200


def test_the_chosen_reply_template_is_the_one_selected_in_its_list(client, alice):
    from tests.test_reply_templates import stored

    case = CaseFactory()
    template = stored("First answer", "en", "We read your request.")
    sign_in(client, alice)

    page = client.get(url(case) + f"?template={template.pk}").content.decode()

    assert f'<option value="{template.pk}" selected>' in page


def test_every_fingerprint_is_made_again_one_batch_at_a_time():
    from cases.access import refingerprint_all
    from intake.models import HelpRequest
    from tests.content_keys import organisation_keys

    CaseFactory(request__contact="@first_contact")
    CaseFactory(request__contact="@second_contact")
    HelpRequest.objects.update(contact_fingerprint="k0:made-with-an-old-key")

    assert refingerprint_all(organisation_keys(), batch_size=1) == 2
    assert not HelpRequest.objects.filter(contact_fingerprint__startswith="k0:").exists()
