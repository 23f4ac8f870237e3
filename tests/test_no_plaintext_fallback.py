"""
No plaintext fallback: when sealing fails in the middle of a web submission, a
bot's API submission or an import batch, nothing is stored (no row in any
table), cached, logged or queued, in clear or otherwise, and the sender is told
so plainly: an error page or a JSON error, never a receipt; the import exits
non-zero naming the failure, without a value.

The faults are real: the organisation's public key row damaged in the
database, or the cipher that seals values raising in the middle of a request
(after its envelope was made).
"""

import io
import json
import logging
import pickle

import pytest
from celery.signals import before_task_publish, task_prerun
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from encryption import content
from encryption.models import OrganisationKey
from intake.services import create_bot_token, submit_request
from tests.csvdata import csv_row, write_csv
from tests.intake_helpers import form_data
from tests.staffing import make_staff
from tests.test_accessibility import request_record
from tests.test_ratelimit_privacy import cache_contents

pytestmark = pytest.mark.django_db

NARRATIVE = "Fallback-check narrative: they send me to Pokrovsk on Monday"
CONTACT = "@fallback_check_contact_4471"


def damage_the_public_key(monkeypatch) -> None:
    """Someone (or a bad restore) left the active organisation key unusable."""
    OrganisationKey.objects.filter(state=OrganisationKey.State.ACTIVE).update(public_key=b"\0" * 5)


def make_the_cipher_fail(monkeypatch) -> None:
    """The value cipher fails after the request's envelope was sealed."""

    def fail(self, text: str, label: str, row: str) -> bytes:
        raise RuntimeError("the cipher is broken")

    monkeypatch.setattr(content.ValueSealer, "seal_text", fail)


FAULTS = [damage_the_public_key, make_the_cipher_fail]


# A bot's refusal is counted for its hour (a number, no content: intake.BotUsage).
COUNTS_ONLY = {"intake.BotUsage"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.label not in COUNTS_ONLY
    }


class Witness:
    """Everything that could keep a value: tables, cache, logs, tasks queued or run, mail."""

    def __init__(self, caplog) -> None:
        self.caplog, self.tasks, self.before = caplog, [], {}

    def task_seen(self, sender=None, **kwargs) -> None:
        self.tasks.append(str(sender))

    def start(self) -> None:
        self.before = row_counts()

    def assert_nothing_kept(self, *values: str) -> None:
        assert row_counts() == self.before
        assert self.tasks == [] and mail.outbox == []
        stored = cache_contents()
        cached = b" ".join(key + value for key, value in stored)
        unpickled = []
        for _key, value in stored:
            try:
                unpickled.append(str(pickle.loads(value)))  # noqa: S301 - the test's own cache
            except Exception:  # noqa: S112 - not every value is pickled
                continue
        records = self.caplog.records
        logged = self.caplog.text + " ".join(str(record.__dict__) for record in records)
        for value in values:
            assert value.encode() not in cached
            assert not any(value in text for text in unpickled)
            assert value not in logged


@pytest.fixture
def witness(caplog):
    # An installation that has taken a request before (its server-side keys exist).
    submit_request(request_record())
    seen = Witness(caplog)
    before_task_publish.connect(seen.task_seen, weak=False)
    task_prerun.connect(seen.task_seen, weak=False)
    with caplog.at_level(logging.DEBUG):
        yield seen
    before_task_publish.disconnect(seen.task_seen)
    task_prerun.disconnect(seen.task_seen)


@pytest.fixture
def token():
    admin = make_staff("api-admin", "admin").user
    return create_bot_token("telegram-bot", "telegram", actor=admin)[1]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_web_submission_that_cannot_be_sealed_stores_nothing_and_says_so(
    client, monkeypatch, witness, fault
):
    fault(monkeypatch)
    witness.start()

    response = client.post("/", form_data(narrative=NARRATIVE, contact=CONTACT))

    assert response.status_code == 503
    page = response.content.decode()
    assert "nothing was stored" in page and "no receipt code" in page
    assert "<code>" not in page  # the receipt page shows the code in <code>
    # What was typed comes back in this answer only, so that nothing is lost.
    assert NARRATIVE in page
    witness.assert_nothing_kept(NARRATIVE, CONTACT)
    assert "nothing stored: sealing failed" in witness.caplog.text


@pytest.mark.parametrize("fault", FAULTS)
def test_a_bot_submission_that_cannot_be_sealed_stores_nothing_and_gets_a_json_error(
    client, monkeypatch, witness, token, fault
):
    body = {
        "category": "desertion", "service_status": "mobilised", "location": "home_country",
        "urgency": "high", "contact": CONTACT, "narrative": NARRATIVE,
    }  # fmt: skip
    fault(monkeypatch)
    witness.start()

    response = client.post(
        "/api/v1/requests",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 503
    answer = response.json()
    assert "nothing was stored" in answer["error"]
    assert set(answer) == {"error"}  # no reference, no receipt code
    # Not even the bot's hourly use is counted.
    witness.assert_nothing_kept(NARRATIVE, CONTACT)


@pytest.mark.parametrize("fault", FAULTS)
def test_an_import_that_cannot_be_sealed_stores_nothing_and_exits_naming_the_failure(
    tmp_path, monkeypatch, witness, fault
):
    # The fault hits the first batch: after its envelope, or (damaged key) at it.
    rows = [csv_row(n, narrative=f"{NARRATIVE} {n}", contact=f"{CONTACT}{n}") for n in range(5)]
    path = write_csv(tmp_path / "in.csv", rows)
    fault(monkeypatch)
    witness.start()
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_requests", str(path), "--workers", "0", stdout=out, stderr=err)

    message = str(failure.value)
    assert "sealing failed" in message and "nothing was imported" in message
    printed = message + out.getvalue() + err.getvalue()
    for row in rows:
        assert row["narrative"] not in printed and row["contact"] not in printed
        assert row["reference"] not in printed
    witness.assert_nothing_kept(*(row["narrative"] for row in rows), *(r["contact"] for r in rows))


@pytest.mark.parametrize("fault", FAULTS)
def test_a_requester_message_that_cannot_be_sealed_is_not_sent_and_kept_in_the_form(
    client, monkeypatch, witness, fault
):
    submission = submit_request(request_record())
    fault(monkeypatch)
    witness.start()

    response = client.post("/status/message/", {"code": submission.receipt_code, "body": NARRATIVE})

    assert response.status_code == 503
    page = response.content.decode()
    assert "it was not sent and nothing was stored" in page
    assert NARRATIVE in page  # in the form again, in this answer only
    witness.assert_nothing_kept(NARRATIVE)


def test_an_import_sealed_in_worker_processes_fails_as_cleanly(tmp_path, monkeypatch, witness):
    rows = [csv_row(n, narrative=f"{NARRATIVE} {n}") for n in range(3)]
    path = write_csv(tmp_path / "in.csv", rows)
    damage_the_public_key(monkeypatch)
    witness.start()
    err = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command(
            "import_requests", str(path), "--workers", "1", stdout=io.StringIO(), stderr=err
        )

    assert "sealing failed: ValueError" in str(failure.value)
    assert not any(row["narrative"] in str(failure.value) + err.getvalue() for row in rows)
    witness.assert_nothing_kept(*(row["narrative"] for row in rows))
