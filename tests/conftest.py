"""
Shared fixtures. The suite runs on whatever DATABASE_URL and REDIS_URL say:
SQLite and eager Celery with nothing set, PostgreSQL, Redis and a real worker
in CI (.ci/run). Nothing here mocks the database, the broker or the cipher.
"""

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

# Values the tests use that the app never encrypts but that must never reach
# a log either (a Telegram chat id, a username, a bot token): see remember_sensitive.
_remembered: set[str] = set()


def remember_sensitive(*values: object) -> None:
    """Add values to the log scan of this run (tests/log_scan.py)."""
    _remembered.update(str(value) for value in values)


@pytest.fixture(scope="session", autouse=True)
def sensitive_values_for_the_log_scan():
    """
    Remember every value the run seals or encrypts and every receipt code it
    issues (tests/sensitive_values.py says where they are observed); with
    LOG_FILE set (dev.py test), write them beside the log at the end, for
    tests/log_scan.py to check that none of them reached any log. The cipher
    and the codes work as always; they are only observed.
    """
    from tests.sensitive_values import SensitiveValues

    observer = SensitiveValues().start()
    try:
        yield observer
    finally:
        observer.stop()
        log_file = os.environ.get("LOG_FILE")
        if log_file:
            observer.write(Path(log_file).parent, extra=_remembered)


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def organisation_key(request):
    """
    Every test with a database starts where a real installation is once its
    first caseworker exists: with an organisation key to seal requests to
    (tests/content_keys.py keeps its private half for the tests).
    """
    from tests import content_keys

    content_keys.forget()
    uses_database = request.node.get_closest_marker("django_db") is not None or bool(
        DATABASE_FIXTURES & set(request.fixturenames)
    )
    if not uses_database:
        yield None
        return
    request.getfixturevalue("_django_db_helper")
    yield content_keys.start()
    content_keys.forget()


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
    # Likewise Argon2id's cost for caseworker keys (bench/ measures the real one).
    settings.CONTENT_KEY_KDF = {"passes": 1, "memory_kib": 8, "lanes": 1}


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


@pytest.fixture(autouse=True)
def attachment_storage(settings, tmp_path_factory):
    """Attachment objects go to a folder of the test run, never the work tree's."""
    folder = tmp_path_factory.getbasetemp() / "attachment-objects"
    storages = {alias: dict(config) for alias, config in django_settings.STORAGES.items()}
    storages["attachments"] = {
        **storages["attachments"],
        "OPTIONS": {**storages["attachments"]["OPTIONS"], "location": str(folder)},
    }
    settings.STORAGES = storages
    return folder
