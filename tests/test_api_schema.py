"""
The intake API against its own OpenAPI document, by a checker nobody here
wrote: schemathesis reads /api/v1/openapi.json from a live server (a real
socket, the suite's database: PostgreSQL in CI) and sends several hundred
generated requests with a valid bot token, valid and invalid by the document.
Every check is on: no server error, every answer as documented (status, type,
body), everything the document allows accepted, everything it forbids refused,
authentication enforced. Any failure fails the suite, with schemathesis's own
report and a command to reproduce it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from intake.models import HelpRequest
from intake.services import create_bot_token

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Generated requests per operation in the fuzzing phase, on top of the
# coverage phase's boundary values (about 120 more).
EXAMPLES = 300


def test_the_api_answers_as_its_openapi_document_says(live_server, settings):
    # Rate limits would answer 429 (documented, but it proves nothing about the
    # body): the run is about what the server accepts, not how often.
    settings.INTAKE_GLOBAL_LIMIT = "0"
    settings.INTAKE_RATE_LIMIT = "0"
    # Two files at most (the document says so too): every valid example's files
    # are cleaned in a child process, and five each made this run take minutes;
    # the limit itself is tested in tests/test_api_attachments.py.
    settings.ATTACHMENT_MAX_FILES = 2
    _bot, token = create_bot_token("schemathesis", "telegram", actor=None)

    run = subprocess.run(
        [
            str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--checks", "all",
            "--max-examples", str(EXAMPLES),
            "--header", f"Authorization: Bearer {token}",
            "--request-timeout", "30",
        ],
        capture_output=True, text=True, timeout=900, check=False,
        # Attachments (format: byte) are generated as real small images.
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
             "PYTHONPATH": str(Path(__file__).parent.parent)},
    )  # fmt: skip

    assert run.returncode == 0, run.stdout[-30_000:] + run.stderr[-5_000:]
    # Valid requests really went through: the run was not all refusals.
    assert HelpRequest.objects.count() >= 50, run.stdout[-5_000:]
