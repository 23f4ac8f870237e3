"""The queue's filters by channel, language and received dates; reassigning
only to caseworkers who can read content."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


def shown(client, query: str) -> list[str]:
    response = client.get(f"/staff/?{query}")
    assert response.status_code == 200
    return sorted(row["request__reference"] for row in response.context["page"])


def received(days_ago: int, **request) -> Case:
    case = CaseFactory(**{f"request__{k}": v for k, v in request.items()})
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return case


def test_the_queue_filters_by_channel_and_language(client, alice):
    bot_ru = received(1, channel="telegram", language="ru")
    web_en = received(1, channel="web", language="en")
    sign_in(client, alice)

    assert shown(client, "channel=telegram") == [bot_ru.request.reference]
    assert shown(client, "language=en") == [web_en.request.reference]
    assert shown(client, "channel=web&language=ru") == []


def test_the_queue_filters_by_received_dates_both_ends_included(client, alice):
    old, middle, recent = received(20), received(10), received(1)
    sign_in(client, alice)
    day = lambda n: (timezone.localdate() - timedelta(days=n)).isoformat()  # noqa: E731

    assert shown(client, f"received_from={day(10)}") == sorted(
        [middle.request.reference, recent.request.reference]
    )
    assert shown(client, f"received_to={day(10)}") == sorted(
        [old.request.reference, middle.request.reference]
    )
    assert shown(client, f"received_from={day(15)}&received_to={day(5)}") == [
        middle.request.reference
    ]


def test_a_date_that_makes_no_sense_filters_nothing_and_says_so(client, alice):
    case = received(1)
    sign_in(client, alice)

    response = client.get("/staff/?received_from=yesterday")

    assert [r["request__reference"] for r in response.context["page"]] == [case.request.reference]
    assert response.context["form"].errors


def test_reassign_offers_only_caseworkers_who_can_read_content(client, alice, bob):
    make_staff("nina", "caseworker", with_access=False)
    case = CaseFactory()
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()
    start = page.index('id="reassign"')
    offered = page[start : page.index("</select>", start)]

    assert ">bob<" in offered and ">alice<" in offered
    assert ">nina<" not in offered


def test_a_case_cannot_be_given_to_a_caseworker_without_access(client, alice):
    nina = make_staff("nina", "caseworker", with_access=False)
    case = CaseFactory()
    sign_in(client, alice)

    client.post(f"/staff/cases/{case.request.reference}/assign/", {"assignee": nina.user.pk})

    assert Case.objects.get().assigned_to is None
