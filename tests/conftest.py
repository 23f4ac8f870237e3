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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Strong hashing is Django's business; tests only need passwords to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    """A caseworker."""
    from tests.staffing import make_staff

    return make_staff("alice", "caseworker")


@pytest.fixture
def bob(db):
    """Another caseworker."""
    from tests.staffing import make_staff

    return make_staff("bob", "caseworker")


@pytest.fixture
def carol(db):
    """A coordinator."""
    from tests.staffing import make_staff

    return make_staff("carol", "coordinator")


@pytest.fixture
def dave(db):
    """An admin."""
    from tests.staffing import make_staff

    return make_staff("dave", "admin")


@pytest.fixture(autouse=True)
def english():
    """Tests read English messages; tests/test_translations.py checks the Russian."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client(client):
    """pytest-django's client, having chosen English with the language switch."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
