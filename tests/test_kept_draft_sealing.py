"""The sealing of a kept draft (encryption.content.seal_draft): bound to its row and page."""

import pytest

from encryption import content
from encryption.content import CannotOpen

PAYLOAD = b'{"fields": {"reply": {"body": "typed"}}}'


def test_a_draft_opens_with_its_key_for_its_row_and_page():
    key = content.new_key()
    sealed = content.seal_draft(key, PAYLOAD, "a" * 32, "/staff/cases/GL-1/")

    assert PAYLOAD not in sealed
    assert content.open_draft(key, sealed, "a" * 32, "/staff/cases/GL-1/") == PAYLOAD


@pytest.mark.parametrize(
    ("draft_id", "page"), [("b" * 32, "/staff/cases/GL-1/"), ("a" * 32, "/staff/cases/GL-2/")]
)
def test_a_draft_opens_nothing_for_another_row_or_page(draft_id, page):
    key = content.new_key()
    sealed = content.seal_draft(key, PAYLOAD, "a" * 32, "/staff/cases/GL-1/")

    with pytest.raises(CannotOpen):
        content.open_draft(key, sealed, draft_id, page)


def test_another_key_or_format_opens_nothing():
    key = content.new_key()
    sealed = content.seal_draft(key, PAYLOAD, "a" * 32, "/p/")

    with pytest.raises(CannotOpen):
        content.open_draft(content.new_key(), sealed, "a" * 32, "/p/")
    with pytest.raises(CannotOpen):
        content.open_draft(key, b"\x02" + sealed[1:], "a" * 32, "/p/")


@pytest.mark.django_db
def test_a_draft_as_long_as_any_form_takes_is_kept_and_a_longer_one_not():
    from django.http import HttpResponse

    from encryption import drafts
    from encryption.models import KeptDraft

    longest = "x" * drafts.MOST_KEPT_CHARACTERS

    assert drafts.keep(HttpResponse(), "/p/", {"reply": {"body": longest}})
    assert not drafts.keep(HttpResponse(), "/p/", {"reply": {"body": longest + "x"}})
    assert not drafts.keep(HttpResponse(), "/p/", {"reply": {"body": "   "}})
    assert KeptDraft.objects.count() == 1
