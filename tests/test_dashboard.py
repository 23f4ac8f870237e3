"""The coordinators' dashboard: stored figures, server-drawn charts, a few queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from reports.models import MonthlyReport
from reports.months import current_month, shift
from reports.services import store_report
from tests.conftest import wait_for
from tests.factories import CaseFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def stored_months(count: int = 3) -> None:
    for back in range(count):
        month = shift(current_month(), -back)
        CaseFactory(
            request__category="desertion",
            request__received_at=timezone.now() - timedelta(days=31 * back),
        )
        store_report(month)


def test_a_coordinator_sees_the_figures_and_two_svg_charts(client, carol):
    stored_months()
    sign_in(client, carol)
    page = client.get("/staff/dashboard/").content.decode()

    assert page.count("<svg") == 2
    assert "Requests by category" in page
    assert "Service status of potential deserters" in page
    assert "<script" not in page
    assert "since " in page and "Definition" in page


def test_it_says_so_when_nothing_is_stored_yet(client, carol):
    sign_in(client, carol)

    assert (
        "No monthly report has been stored yet" in client.get("/staff/dashboard/").content.decode()
    )


def test_the_number_of_queries_does_not_depend_on_requests_or_months(client, carol):
    stored_months(2)
    sign_in(client, carol)
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/dashboard/")
    CaseFactory.create_batch(30)
    stored_months(12)
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/dashboard/")

    assert len(many) == len(few) <= 10


def test_each_stored_month_has_its_full_report(client, carol):
    stored_months(1)
    sign_in(client, carol)
    month = current_month().strftime("%Y-%m")

    page = client.get(f"/staff/reports/{month}/").content.decode()
    assert "Monthly report: " in page
    assert client.get("/staff/reports/1999-01/").status_code == 404
    assert client.get("/staff/reports/garbage/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_admins_regenerate_and_it_is_audited(client, dave, celery_worker_or_eager):
    stored_months(1)
    sign_in(client, dave)
    month = current_month().strftime("%Y-%m")
    before = MonthlyReport.objects.get().generated_at

    client.post(f"/staff/reports/{month}/regenerate/")

    assert wait_for(lambda: MonthlyReport.objects.get().generated_at > before)
    assert AuditEntry.objects.filter(action="report.regenerate", target=month).exists()


def test_coordinators_cannot_regenerate(client, carol):
    stored_months(1)
    sign_in(client, carol)

    assert client.post(f"/staff/reports/{current_month():%Y-%m}/regenerate/").status_code == 403
    assert (
        'action="/staff/reports/regenerate/"'
        not in client.get("/staff/dashboard/").content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_generate_every_month_fills_an_empty_dashboard(client, dave, celery_worker_or_eager):
    CaseFactory(request__received_at=timezone.now() - timedelta(days=70))
    sign_in(client, dave)

    client.post("/staff/reports/regenerate/")

    assert wait_for(lambda: MonthlyReport.objects.count() >= 3)


def test_a_report_stored_before_publication_shows_nothing_until_regenerated(client, carol):
    month = shift(current_month(), -1)
    MonthlyReport.objects.create(
        month=month, data={"requests": 7, "month": f"{month:%Y-%m}"}, generated_at=timezone.now()
    )
    sign_in(client, carol)

    page = client.get("/staff/dashboard/").content.decode()

    assert "show nothing until they are regenerated" in page
    assert 'data-figure="requests">7<' not in page
