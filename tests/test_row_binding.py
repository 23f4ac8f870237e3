"""
Sealed content is bound to its row (docs/encryption.md, Stored formats, v2).

The attacker can write the database but holds no key: they copy a request's
sealed columns, with its wrapped key, onto another case (or move a note or a
message there), hoping a caseworker reads one person's story under another
person's case. The copy does not open there: the case shows as closed, never a
500, and the original still opens. Content sealed before version 2 still
opens, and is bound to its row when a caseworker opens it or by
`seal_content --bind`.
"""

import io
import sys

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from cases import services as case_services
from cases.access import fingerprint_backlog
from cases.models import CaseNote
from encryption import content
from encryption.fields import Sealed
from encryption.padding import pad
from encryption.sealing import Envelope
from intake.models import HelpRequest, RequestMessage
from intake.services import submit_request
from tests.content_keys import opened, organisation_keys
from tests.csvdata import csv_row, write_csv
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, sign_in
from tests.test_accessibility import request_record

pytestmark = pytest.mark.django_db

CONTENT_COLUMNS = ("content_key", "contact", "alias", "narrative", "precise_location", "unit")


def case_page(client, case) -> str:
    response = client.get(f"/staff/cases/{case.request.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def copy_columns(table: str, columns, from_pk: int, to_pk: int) -> None:
    """What someone with write access to the database does: raw SQL, no key."""
    # Only the test's own table and column names enter the SQL.
    assignments = ", ".join(f"{c} = (SELECT {c} FROM {table} WHERE id = %s)" for c in columns)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
            [from_pk] * len(columns) + [to_pk],
        )


@pytest.fixture
def two_cases():
    first = CaseFactory(request__narrative="Story of the first requester, unit 4471")
    second = CaseFactory(request__narrative="Story of the second requester")
    return first, second


def test_a_request_copied_onto_another_case_does_not_open_there(client, alice, two_cases):
    first, second = two_cases
    copy_columns("intake_helprequest", CONTENT_COLUMNS, first.request.pk, second.request.pk)

    sign_in(client, alice)
    page = case_page(client, second)

    assert "Content locked" in page
    assert "Story of the first requester" not in page
    assert "Story of the first requester, unit 4471" in case_page(client, first)


def test_a_request_copied_with_the_orm_does_not_open_either(client, alice, two_cases):
    first, second = two_cases
    source = HelpRequest.objects.get(pk=first.request.pk)
    HelpRequest.objects.filter(pk=second.request.pk).update(
        **{name: getattr(source, name) for name in CONTENT_COLUMNS}
    )

    sign_in(client, alice)
    assert "Content locked" in case_page(client, second)
    assert "Story of the first requester" not in case_page(client, second)


def test_a_note_moved_to_another_case_closes_that_case_not_its_own(client, alice, two_cases):
    first, second = two_cases
    note = case_services.add_note(first, "Met him at the station at 9", author=alice.user)
    CaseNote.objects.filter(pk=note.pk).update(case=second)

    sign_in(client, alice)
    page = case_page(client, second)
    assert "Content locked" in page and "Met him at the station" not in page
    # Put back where it was sealed, it opens again: the binding is to the case.
    CaseNote.objects.filter(pk=note.pk).update(case=first)
    assert "Met him at the station at 9" in case_page(client, first)


def test_a_note_copied_column_by_column_does_not_open_either(client, alice, two_cases):
    first, second = two_cases
    note = case_services.add_note(first, "Met him at the station at 9", author=alice.user)
    decoy = case_services.add_note(second, "An ordinary note", author=alice.user)
    copy_columns("cases_casenote", ("body", "item_key"), note.pk, decoy.pk)

    sign_in(client, alice)
    assert "Met him at the station" not in case_page(client, second)
    assert "Met him at the station at 9" in case_page(client, first)


def test_a_message_moved_to_another_request_opens_neither_for_staff_nor_for_its_requester(
    client, alice
):
    first = submit_request(request_record(narrative="First story"))
    second = submit_request(request_record(narrative="Second story"))
    reply = case_services.reply_to_requester(
        first.help_request.case, "Come to the station at 9", author=alice.user
    )
    RequestMessage.objects.filter(pk=reply.pk).update(request=second.help_request)

    sign_in(client, alice)
    assert "Come to the station" not in case_page(client, second.help_request.case)
    assert "Content locked" in case_page(client, second.help_request.case)
    # The second requester gets their page, without the message, and no error.
    status = client.post("/status/", {"code": second.receipt_code})
    assert status.status_code == 200
    assert "Come to the station" not in status.content.decode()


def test_an_imported_request_is_bound_to_its_reference(client, alice, tmp_path):
    rows = [csv_row(1, narrative="Imported story one"), csv_row(2, narrative="Imported story two")]
    path = write_csv(tmp_path / "in.csv", rows)
    call_command("import_requests", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    first = HelpRequest.objects.get(reference="HIST-000001")
    second = HelpRequest.objects.get(reference="HIST-000002")
    copy_columns("intake_helprequest", CONTENT_COLUMNS, first.pk, second.pk)

    sign_in(client, alice)
    assert "Content locked" in case_page(client, second.case)
    assert "Imported story one" in case_page(client, first.case)


def test_a_request_whose_new_reference_collides_is_sealed_again_for_the_one_stored(
    monkeypatch,
):
    taken = CaseFactory().request.reference
    references = iter([taken, "GL-AAAA-BBBB"])
    monkeypatch.setattr("intake.services.new_reference", lambda: next(references))

    submission = submit_request(request_record(narrative="A story told once"))

    stored = HelpRequest.objects.get(pk=submission.help_request.pk)
    assert stored.reference == "GL-AAAA-BBBB"
    assert opened(stored, "narrative") == {"narrative": "A story told once"}


def test_the_fingerprint_backlog_reads_each_reference_with_its_batch():
    def queries_for(count: int) -> int:
        for _ in range(count):
            CaseFactory(request__contact_fingerprint="")
        with CaptureQueriesContext(connection) as queries:
            fingerprint_backlog(organisation_keys(), 100)
        return len(queries)

    assert queries_for(2) == queries_for(6) - 4  # one UPDATE per request, no read each


# --- version 1: still opens, and is bound when opened -----------------------------


def seal_as_version_1(instance, texts: dict[str, str], key_column: str) -> None:
    """Store `texts` as this code sealed them before version 2 (docs/encryption.md:
    `0xC1 | nonce | ChaCha20-Poly1305(key, nonce, padded text, "tropa/value/v1|" +
    model.field)`, and the key wrapped with `"tropa/wrapped-key/v1|" + model.column`)."""
    model = instance._meta.label_lower
    envelope = Envelope()
    envelope.row.save(force_insert=True)
    envelope_key = organisation_keys().envelope_key(envelope.row.id)
    key, nonce = content.new_key(), content.new_key()[:12]
    wrap_aad = f"tropa/wrapped-key/v1|{model}.{key_column}".encode()
    wrapped = (
        bytes([0x01]) + envelope.row.id.to_bytes(8, "big") + nonce
        + ChaCha20Poly1305(envelope_key).encrypt(nonce, key, wrap_aad)
    )  # fmt: skip
    values = {}
    for name, text in texts.items():
        aad = f"tropa/value/v1|{model}.{name}".encode()
        nonce = content.new_key()[:12]
        sealed = ChaCha20Poly1305(key).encrypt(nonce, pad(text.encode()), aad)
        values[name] = Sealed(bytes([0xC1]) + nonce + sealed)
    type(instance).objects.filter(pk=instance.pk).update(**{key_column: wrapped}, **values)


@pytest.fixture
def version_1_case(alice):
    case = CaseFactory()
    seal_as_version_1(
        case.request, {"narrative": "An old story", "contact": "@old_handle"}, "content_key"
    )
    note = case_services.add_note(case, "placeholder", author=alice.user)
    seal_as_version_1(note, {"body": "An old note"}, "item_key")
    message = case_services.reply_to_requester(case, "placeholder", author=alice.user)
    seal_as_version_1(message, {"body": "An old reply"}, "item_key")
    return case


def stored_versions(case) -> set[int]:
    """The format bytes of every sealed column of the case, as stored."""
    request = HelpRequest.objects.get(pk=case.request.pk)
    note = CaseNote.objects.get(case=case)
    message = RequestMessage.objects.get(request=request)
    values = [request.content_key, request.narrative, request.contact]
    values += [note.item_key, note.body, message.item_key, message.body]
    return {bytes(value)[0] for value in values}


def test_a_version_1_case_still_opens_and_is_bound_to_its_row_when_opened(
    client, alice, version_1_case
):
    assert stored_versions(version_1_case) == {0x01, 0xC1}

    sign_in(client, alice)
    page = case_page(client, version_1_case)

    assert "An old story" in page and "@old_handle" in page
    assert "An old note" in page and "An old reply" in page
    assert stored_versions(version_1_case) == {content.WRAP_V2, content.SEALED_VALUE_V2}
    assert "An old story" in case_page(client, version_1_case)


def test_once_bound_a_former_version_1_request_no_longer_opens_elsewhere(
    client, alice, version_1_case
):
    other = CaseFactory()
    sign_in(client, alice)
    case_page(client, version_1_case)  # bound in passing
    copy_columns("intake_helprequest", CONTENT_COLUMNS, version_1_case.request.pk, other.request.pk)

    assert "Content locked" in case_page(client, other)
    assert "An old story" not in case_page(client, other)


def test_seal_content_binds_every_version_1_row(alice, version_1_case, monkeypatch):
    out = io.StringIO()
    call_command("seal_content", "--dry-run", stdout=out, stderr=io.StringIO())
    assert "3 rows are sealed but not bound to their request yet" in out.getvalue()

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    out = io.StringIO()
    call_command("seal_content", "--bind", "alice", stdout=out, stderr=io.StringIO())

    assert "Bound 3 of " in out.getvalue()
    assert stored_versions(version_1_case) == {content.WRAP_V2, content.SEALED_VALUE_V2}
    request = HelpRequest.objects.get(pk=version_1_case.request.pk)
    assert opened(request, "narrative", "contact") == {
        "narrative": "An old story",
        "contact": "@old_handle",
    }
    assert opened(CaseNote.objects.get(case=version_1_case), "body") == {"body": "An old note"}
    entry = AuditEntry.objects.get(action="content_key.bound_to_rows")
    assert entry.detail["bound"] == 3 and entry.detail["closed"] == 0
    # Run again: nothing left to do.
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    out = io.StringIO()
    call_command("seal_content", "--bind", "alice", stdout=out, stderr=io.StringIO())
    assert "Bound 0 of " in out.getvalue()
