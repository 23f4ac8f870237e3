"""
What a newcomer's console shows while they try the app: no broker warning on
the embedded default, and one line (no traceback) for an ordinary 403, while a
real error keeps its traceback.
"""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.staffing import sign_in

ROOT = Path(__file__).resolve().parent.parent

FIRST_SUBMISSION = """
import django
django.setup()
from django.test.utils import setup_databases, setup_test_environment
setup_test_environment()
setup_databases(verbosity=0, interactive=False)
import io
from django.core.management import call_command
# As demo_setup does first: the first caseworker creates the organisation key.
call_command("create_staff", "first", "--role", "caseworker", "--json", stdout=io.StringIO())
from django.test import Client
from tests.intake_helpers import form_data
response = Client().post("/", form_data())
print("status", response.status_code)
"""


def test_the_first_public_submission_on_the_embedded_default_prints_no_broker_warning():
    """A fresh process, as `dev.py run` starts one: no REDIS_URL, tasks run in-process."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LOG_FILE")}
    env |= {"DEBUG": "1", "DATABASE_URL": "sqlite://:memory:", "ALLOWED_HOSTS": "testserver"}
    env["STAFF_PASSWORD"] = "a newcomer's first caseworker password"

    result = subprocess.run(
        [sys.executable, "-c", FIRST_SUBMISSION],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert "status 200" in result.stdout, result.stderr[-3000:]
    assert "kombu" not in result.stderr
    assert " WARNING " not in result.stderr, result.stderr


@pytest.fixture
def console():
    """What the configured console handler (Django's loggers) writes, as text."""
    handler = next(h for h in logging.getLogger("django").handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_an_ordinary_403_is_one_line_without_a_traceback(client, carol, console):
    sign_in(client, carol)

    response = client.get("/staff/accounts/")

    assert response.status_code == 403
    lines = console.getvalue().splitlines()
    assert [line for line in lines if "Forbidden" in line], lines
    assert len(lines) == 1, lines
    assert "Traceback" not in console.getvalue()


def test_a_server_error_keeps_its_traceback(console, rf):
    request = rf.get("/staff/")
    request.user = AnonymousUser()
    try:
        raise RuntimeError("a real bug")
    except RuntimeError as error:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=error,
            extra={"status_code": 500, "request": request},
        )

    assert "Traceback (most recent call last)" in console.getvalue()
    assert "RuntimeError: a real bug" in console.getvalue()
