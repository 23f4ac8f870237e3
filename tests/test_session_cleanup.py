"""Expired sessions are deleted every night: kept, they would say who was signed in, and when."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.conftest import wait_for
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_nightly_task_deletes_expired_sessions_and_keeps_live_ones(
    client, alice, bob, settings, celery_worker_or_eager
):
    from core.tasks import clear_expired_sessions

    sign_in(client, alice)
    live = client.session.session_key
    sign_in(client.__class__(), bob)
    expired = Session.objects.exclude(session_key=live).get().session_key
    # Bob stopped working yesterday: his session's idle time ran out long ago.
    Session.objects.filter(session_key=expired).update(
        expire_date=timezone.now() - timedelta(days=1)
    )

    clear_expired_sessions.delay()

    assert wait_for(lambda: not Session.objects.filter(session_key=expired).exists())
    assert Session.objects.filter(session_key=live).exists()
    assert client.get("/staff/").status_code == 200


def test_beat_runs_it_every_night(settings):
    jobs = {job["task"]: job["schedule"] for job in settings.CELERY_BEAT_SCHEDULE.values()}

    schedule = jobs["core.clear_expired_sessions"]
    assert schedule.hour == {3} and schedule.day_of_week == set(range(7))
