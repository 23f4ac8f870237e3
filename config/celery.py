"""
The Celery application.

The broker is Redis (REDIS_URL); without it, tasks run eagerly in-process.
Everything a task receives travels through Redis in clear, so task arguments
are ids and months only, never content.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tropa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="tropa.ping")
def ping() -> str:
    """Round-trip check for a worker: used by tests and operators."""
    return "pong"
