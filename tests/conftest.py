"""
Shared fixtures. The suite runs on whatever DATABASE_URL and REDIS_URL say:
SQLite and eager Celery with nothing set, PostgreSQL, Redis and a real worker
in CI (.ci/run). Nothing here mocks the database, the broker or the cipher.
"""

import uuid

import pytest
from django.conf import settings as django_settings


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """A fresh cache namespace per test, without flushing a shared Redis (which
    would also empty Celery's queues)."""
    caches = {alias: dict(config) for alias, config in django_settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def uses_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
