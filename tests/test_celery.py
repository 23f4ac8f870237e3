"""
Celery round trip. With REDIS_URL set (CI) a real worker consumes from Redis
and a broken broker fails the test; with nothing set, tasks run eagerly.
"""

from django.conf import settings

from config.celery import app, ping


def test_a_task_round_trips_through_the_configured_broker(celery_worker_or_eager):
    assert app.conf.task_always_eager is (not settings.REDIS_URL)
    result = ping.delay()

    assert result.get(timeout=20) == "pong"
