"""
Merging a later request into an earlier one (a requester who lost their code
wrote again) and linking related requests: confirmed, audited, undone until
the content is erased; after a merge both receipt codes read the whole thread.
"""

import pytest
from django.test import Client
from django.utils import translation

from audit.models import AuditEntry
from cases import undo
from cases.models import Case, CaseLink
from cases.services import CaseError, reply_to_requester
from intake.models import HelpRequest, MessageCopy
from intake.views import STATE_WORDS
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import confirmation_on, sign_in

pytestmark = pytest.mark.django_db


def case_of(code_owner: HelpRequest) -> Case:
    return Case.objects.select_related("request").get(request=code_owner)


def thread(code: str) -> str:
    return Client().post("/status/", {"code": code}).content.decode()


def write(code: str, text: str) -> None:
    assert Client().post("/status/message/", {"code": code, "body": text}).status_code == 200


def relate(client, case: Case, action: str, other: Case):
    path = f"/staff/cases/{case.request.reference}/relate/"
    data = {"action": action, "other": other.request.reference}
    asked = client.post(path, data)
    assert asked.status_code == 200, asked.content.decode()[:3000]
    return client.post(path, {**data, "confirmation": confirmation_on(asked)})


@pytest.fixture
def two_requests(client):
    """The same person twice: an earlier request with a thread, a later one from a
    new code after losing the first."""
    first_code = submit(Client())
    write(first_code, "first code writes: still waiting for news")
    second_code = submit(Client())
    write(second_code, "second code writes: I lost my first code")
    earlier, later = HelpRequest.objects.order_by("pk")
    return first_code, second_code, case_of(earlier), case_of(later)


def test_after_a_merge_both_codes_read_the_whole_thread(client, alice, two_requests):
    first_code, second_code, earlier, later = two_requests
    sign_in(client, alice)

    done = relate(client, later, "merge", earlier)
    reply_to_requester(
        Case.objects.get(pk=earlier.pk), "caseworker answers both", author=alice.user
    )
    write(second_code, "second code again, after the merge")

    assert done.status_code == 302
    for code in (first_code, second_code):
        page = thread(code)
        assert "still waiting for news" in page, code
        assert "I lost my first code" in page, code
        assert "caseworker answers both" in page, code
        assert "second code again, after the merge" in page, code
    later.refresh_from_db()
    assert later.state == "closed" and later.merged_into_id == earlier.pk
    # The later code says what the earlier request's state says, not "finished".
    with translation.override("ru"):
        finished, received = str(STATE_WORDS["closed"]), str(STATE_WORDS["new"])
    assert finished not in thread(second_code)
    assert received in thread(second_code)
    entry = AuditEntry.objects.get(action="case.merge")
    assert (entry.target, entry.detail["other"]) == (
        later.request.reference,
        earlier.request.reference,
    )


def test_a_message_after_a_merge_goes_to_the_earlier_case(client, alice, two_requests):
    _first, second_code, earlier, later = two_requests
    sign_in(client, alice)
    relate(client, later, "merge", earlier)

    write(second_code, "written with the later code")

    assert earlier.request.messages.count() == 2
    assert Case.objects.get(pk=earlier.pk).unread_message_at is not None


def test_unmerge_gives_each_code_its_own_thread_back(client, alice, two_requests):
    first_code, second_code, earlier, later = two_requests
    state_before = later.state
    sign_in(client, alice)
    relate(client, later, "merge", earlier)

    undone = relate(client, Case.objects.get(pk=later.pk), "unmerge", earlier)

    assert undone.status_code == 302
    later.refresh_from_db()
    assert later.merged_into_id is None and later.state == state_before
    assert "I lost my first code" not in thread(first_code)
    assert "still waiting for news" not in thread(second_code)
    assert not MessageCopy.objects.exists()
    assert AuditEntry.objects.filter(action="case.unmerge").count() == 1


def test_without_the_confirmation_nothing_is_merged(client, alice, two_requests):
    _first, _second, earlier, later = two_requests
    sign_in(client, alice)

    client.post(
        f"/staff/cases/{later.request.reference}/relate/",
        {"action": "merge", "other": earlier.request.reference, "confirmation": "forged"},
    )

    assert Case.objects.get(pk=later.pk).merged_into_id is None
    assert not AuditEntry.objects.filter(action="case.merge").exists()


def test_an_earlier_request_is_not_merged_into_a_later_one(alice, two_requests):
    _first, _second, earlier, later = two_requests

    assert undo.merge_refusal(earlier, later)
    with pytest.raises(CaseError):
        undo.merge_cases(earlier, later, actor=alice.user, keys=None)


def test_a_merged_case_is_erased_only_after_the_one_it_was_merged_into(
    client, alice, two_requests, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from cases.retention import purge_expired

    _first, _second, earlier, later = two_requests
    sign_in(client, alice)
    relate(client, later, "merge", earlier)
    long_ago = timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1)
    Case.objects.update(last_activity_at=long_ago)

    purge_expired()
    assert Case.objects.get(pk=later.pk).purged_at is None  # the earlier one is still open
    Case.objects.filter(pk=earlier.pk).update(state="closed")
    purge_expired()
    purge_expired()

    assert Case.objects.get(pk=earlier.pk).purged_at is not None
    assert Case.objects.get(pk=later.pk).purged_at is not None
    with pytest.raises(CaseError):
        undo.unmerge_case(Case.objects.get(pk=later.pk), actor=alice.user)


def test_linked_requests_show_each_other_until_unlinked(client, alice):
    one, two = CaseFactory(), CaseFactory()
    sign_in(client, alice)

    relate(client, one, "link", two)
    page_one = client.get(f"/staff/cases/{one.request.reference}/").content.decode()
    page_two = client.get(f"/staff/cases/{two.request.reference}/").content.decode()
    relate(client, two, "unlink", one)

    assert f'href="/staff/cases/{two.request.reference}/"' in page_one
    assert f'href="/staff/cases/{one.request.reference}/"' in page_two
    assert not CaseLink.objects.exists()
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions.index("case.link") < actions.index("case.unlink")


def test_an_unknown_reference_changes_nothing(client, alice):
    one = CaseFactory()
    sign_in(client, alice)

    response = client.post(
        f"/staff/cases/{one.request.reference}/relate/", {"action": "link", "other": "NOPE-NOPE"}
    )

    assert response.status_code == 302
    assert not CaseLink.objects.exists()


def test_a_case_the_keys_do_not_open_cannot_be_merged(client, alice, two_requests):
    _first, _second, earlier, later = two_requests
    HelpRequest.objects.filter(pk=earlier.request_id).update(content_key=b"")
    sign_in(client, alice)

    response = client.post(
        f"/staff/cases/{later.request.reference}/relate/",
        {"action": "merge", "other": earlier.request.reference},
    )

    assert response.status_code == 302  # back to the case page, which says why
    assert Case.objects.get(pk=later.pk).merged_into_id is None


def test_the_merged_thread_is_sealed_to_each_requester_not_in_clear(client, alice, two_requests):
    from tests.test_reply_templates import in_the_database

    _first, _second, earlier, later = two_requests
    sign_in(client, alice)
    relate(client, later, "merge", earlier)

    assert MessageCopy.objects.count() == 2  # each requester's message, for the other
    assert not in_the_database("I lost my first code")


def test_a_shred_leaves_no_copy_a_receipt_code_could_open(client, alice, two_requests, monkeypatch):
    from tests.test_shred import shred

    _first, _second, earlier, later = two_requests
    sign_in(client, alice)
    relate(client, later, "merge", earlier)
    assert MessageCopy.objects.exists()

    shred(monkeypatch)

    assert not MessageCopy.objects.exists()
