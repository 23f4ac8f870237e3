"""
Shared fixtures. The suite runs on whatever DATABASE_URL and REDIS_URL say:
SQLite and eager Celery with nothing set, PostgreSQL, Redis and a real worker
in CI (.ci/run). Nothing here mocks the database, the broker or the cipher.
"""

import uuid

import pytest
from django.conf import settings as django_settings


@pytest.fixture(scope="session", autouse=True)
def empty_task_queue():
    """Start from an empty broker queue, so no earlier run's tasks interfere."""
    if django_settings.REDIS_URL:
        from config.celery import app

        app.control.purge()


@pytest.fixture
def celery_worker_or_eager():
    """A real Celery worker on the configured Redis (CI); nothing when tasks run
    eagerly in-process (no REDIS_URL). Tests using it need committed data
    (django_db(transaction=True)): the worker has its own connection."""
    if not django_settings.REDIS_URL:
        yield None
        return
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


def wait_for(condition, seconds: float = 15.0) -> bool:
    """Poll until `condition()` holds: work done by a worker arrives a little later."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (browser tests screenshot failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
