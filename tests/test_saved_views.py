"""Saved views of the triage queue: each caseworker's own, created, renamed and
deleted from the queue page by POST; only the queue's known filters and sort
are kept (never a search, a page or an unknown name), and each change is
audited without the view's name."""

import pytest
from django.http import QueryDict

from audit.models import AuditEntry
from cases.models import SavedView
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    sign_in(client, alice)
    return client


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_view_keeps_known_filters_and_the_sort_in_a_fixed_order_and_nothing_else(
    signed_in, alice, bob
):
    echoed = (
        f"sort=-received&q=GL-ABCD-EFGH&contact=%40someone&page=3&language=ru&assignee={bob.user.pk}"
        "&urgency=high&received_from=2026-11-01&unknown=x&channel=telegram"
    )

    response = signed_in.post(
        "/staff/views/", {"name": "Russian, urgent", "query": echoed}, follow=True
    )

    view = SavedView.objects.get()
    assert (view.owner, view.name) == (alice.user, "Russian, urgent")
    assert view.query == (
        f"urgency=high&assignee={bob.user.pk}&channel=telegram&language=ru"
        "&received_from=2026-11-01&sort=-received"
    )
    assert response.redirect_chain[-1][0] == f"/staff/?{view.query}"
    assert "View “Russian, urgent” saved." in said(response)
    entry = AuditEntry.objects.get(action="view.save")
    assert (entry.actor, entry.target) == ("alice", f"saved view {view.pk}")
    assert "Russian" not in str(entry.detail)


def test_the_queue_lists_only_ones_own_views_and_marks_the_one_shown(signed_in, alice, bob):
    SavedView.objects.create(owner=alice.user, name="Telegram", query="channel=telegram")
    SavedView.objects.create(owner=bob.user, name="Bobs secret list", query="urgency=low")

    body = signed_in.get("/staff/?channel=telegram").content.decode()

    assert '<a href="/staff/?channel=telegram" aria-current="page">Telegram</a>' in body
    assert "Bobs secret list" not in body
    assert '<input type="hidden" name="query" value="channel=telegram">' in body


@pytest.mark.parametrize("name", ["Call +380501234567", "@handle", "GL-7K2M-Q9XZ", "  "])
def test_a_name_with_digits_at_or_plus_or_empty_is_refused(signed_in, name):
    response = signed_in.post("/staff/views/", {"name": name, "query": "urgency=high"}, follow=True)

    assert not SavedView.objects.exists()
    assert not AuditEntry.objects.filter(action="view.save").exists()
    assert response.status_code == 200


def test_the_queue_with_invalid_filters_offers_them_to_be_refused_not_dropped(signed_in):
    page = signed_in.get("/staff/?received_from=yesterday&urgency=high").content.decode()

    assert 'name="query" value="received_from=yesterday&amp;urgency=high"' in page


def test_invalid_filters_are_not_saved(signed_in):
    response = signed_in.post(
        "/staff/views/", {"name": "Broken", "query": "received_from=yesterday"}, follow=True
    )

    assert not SavedView.objects.exists()
    assert "These filters are not valid; nothing was saved." in said(response)


def test_names_are_one_per_person_and_views_are_limited(signed_in, alice, bob):
    SavedView.objects.create(owner=bob.user, name="Urgent", query="")
    signed_in.post("/staff/views/", {"name": "Urgent", "query": ""})
    again = signed_in.post(
        "/staff/views/", {"name": "Urgent", "query": "urgency=high"}, follow=True
    )

    assert SavedView.objects.filter(owner=alice.user).count() == 1  # bob's name is no clash
    assert "You have a saved view with this name already." in said(again)
    for letter in "abcdefghijklmnopqrs":
        SavedView.objects.create(owner=alice.user, name=f"View {letter}", query="")
    full = signed_in.post("/staff/views/", {"name": "One more", "query": ""}, follow=True)
    assert SavedView.objects.filter(owner=alice.user).count() == 20
    assert "You have 20 saved views already: delete one first." in said(full)


def test_rename_and_delete_are_audited(signed_in, alice):
    view = SavedView.objects.create(owner=alice.user, name="Old", query="urgency=high")

    signed_in.post(f"/staff/views/{view.pk}/rename/", {"name": "  New   name "})
    view.refresh_from_db()
    assert view.name == "New name"
    signed_in.post(f"/staff/views/{view.pk}/delete/")

    assert not SavedView.objects.exists()
    assert list(
        AuditEntry.objects.filter(action__startswith="view.")
        .order_by("pk")
        .values_list("action", "target")
    ) == [("view.rename", f"saved view {view.pk}"), ("view.delete", f"saved view {view.pk}")]


def test_another_persons_view_is_not_found(signed_in, bob):
    theirs = SavedView.objects.create(owner=bob.user, name="Mine", query="urgency=high")

    renamed = signed_in.post(f"/staff/views/{theirs.pk}/rename/", {"name": "Taken"})
    deleted = signed_in.post(f"/staff/views/{theirs.pk}/delete/")

    assert (renamed.status_code, deleted.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert theirs.name == "Mine"
    assert not AuditEntry.objects.filter(action__startswith="view.").exists()


def test_a_caseworker_without_access_cannot_save_views(client):
    nina = make_staff("nina", "caseworker", with_access=False)
    sign_in(client, nina)

    response = client.post("/staff/views/", {"name": "Mine", "query": ""})

    assert response.status_code == 403
    assert not SavedView.objects.exists()


def test_a_saved_query_opens_the_same_queue(signed_in, alice):
    from cases.forms import saved_query
    from cases.selectors import colleagues_with_access

    kept = saved_query(QueryDict("state=waiting&sort=bogus&page=2"), colleagues_with_access())

    assert kept == "state=waiting"
