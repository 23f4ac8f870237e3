"""Reports through Celery: a real worker on Redis in CI, eager on the embedded default."""

import pytest
from celery.schedules import crontab
from django.conf import settings

from reports.models import MonthlyReport
from reports.months import current_month, shift
from reports.tasks import generate_monthly_report, generate_previous_month
from tests.conftest import wait_for
from tests.factories import CaseFactory


@pytest.mark.django_db(transaction=True)
def test_the_task_generates_and_stores_a_report(celery_worker_or_eager):
    CaseFactory.create_batch(3, request__category="desertion")
    month = current_month().strftime("%Y-%m")

    result = generate_monthly_report.delay(month)
    if settings.REDIS_URL:
        result.get(timeout=30)

    assert wait_for(lambda: MonthlyReport.objects.filter(month=current_month()).exists())
    stored = MonthlyReport.objects.get()
    assert stored.data["by_category"]["desertion"] == 3


@pytest.mark.django_db(transaction=True)
def test_running_it_twice_leaves_one_report_regenerated(celery_worker_or_eager):
    generate_monthly_report.delay("2024-01").get(timeout=30)
    first = MonthlyReport.objects.get().generated_at
    generate_monthly_report.delay("2024-01").get(timeout=30)

    assert MonthlyReport.objects.count() == 1
    assert MonthlyReport.objects.get().generated_at > first


@pytest.mark.django_db
def test_on_the_first_the_previous_month_is_generated():
    generate_previous_month()

    assert MonthlyReport.objects.get().month == shift(current_month(), -1)


def test_beat_runs_the_month_on_the_first_and_refreshes_nightly():
    schedule = settings.CELERY_BEAT_SCHEDULE
    monthly = schedule["report-previous-month"]
    nightly = schedule["report-current-month"]

    assert monthly["task"] == "reports.generate_previous_month"
    assert isinstance(monthly["schedule"], crontab) and monthly["schedule"].day_of_month == {1}
    assert nightly["task"] == "reports.refresh_current_month"
    assert nightly["schedule"].hour == {3}


def test_tasks_are_acknowledged_late_and_retried_on_database_errors():
    from django.db import DatabaseError

    assert generate_monthly_report.acks_late
    assert DatabaseError in generate_monthly_report.autoretry_for


def test_task_arguments_are_a_month_string_only():
    import inspect

    assert list(inspect.signature(generate_monthly_report.run).parameters) == ["month"]
