"""
Celery round trip. With REDIS_URL set (CI) a real worker consumes from Redis
and a broken broker fails the test; with nothing set, tasks run eagerly.
"""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app, ping


@pytest.fixture
def worker():
    if not settings.REDIS_URL:
        yield None
        return
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_a_task_round_trips_through_the_configured_broker(worker):
    assert app.conf.task_always_eager is (not settings.REDIS_URL)
    result = ping.delay()

    assert result.get(timeout=20) == "pong"
