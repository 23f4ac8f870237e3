"""Caseworkers hear of new requests by e-mail, through a task carrying only an id."""

import pytest
from django.core import mail

from cases.models import Case
from intake.tasks import notify_pending_cases
from tests.conftest import wait_for
from tests.factories import CaseFactory
from tests.intake_helpers import VALID, submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def duty(settings, celery_worker_or_eager):
    settings.INTAKE_NOTIFY_EMAIL = "duty@example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_a_new_request_sends_a_notice_without_any_content(client, duty):
    submit(client)

    assert wait_for(lambda: len(mail.outbox) == 1)
    notice = mail.outbox[0]
    assert notice.to == ["duty@example.org"]
    text = notice.subject + notice.body
    reference = Case.objects.get().request.reference
    for secret in (VALID["narrative"], VALID["contact"], reference, "desertion"):
        assert secret not in text
    assert wait_for(lambda: Case.objects.get().notified_at is not None)


def test_the_sweep_sends_what_could_not_be_queued_once(duty):
    CaseFactory.create_batch(3)  # as if the broker had been down

    assert notify_pending_cases() == 3
    assert notify_pending_cases() == 0
    assert len(mail.outbox) == 1
    assert "3" in mail.outbox[0].body


def test_without_an_address_nothing_is_mailed(client, settings, celery_worker_or_eager):
    settings.INTAKE_NOTIFY_EMAIL = ""
    submit(client)

    assert wait_for(lambda: Case.objects.get().notified_at is not None)
    assert mail.outbox == []


def test_imported_history_is_never_announced(duty, tmp_path):
    import io

    from django.core.management import call_command

    from tests.csvdata import csv_row, write_csv

    call_command(
        "import_requests", str(write_csv(tmp_path / "in.csv", [csv_row(1)])), stdout=io.StringIO()
    )

    assert notify_pending_cases() == 0
    assert mail.outbox == []
