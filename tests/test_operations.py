"""
Operations (fourth review, item 11): what the deployment files promise, the
failure alert, and the error reports of public POSTs.
"""

import io
import re
from pathlib import Path

import pytest
import yaml
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from tests.intake_helpers import form_data

ROOT = Path(__file__).resolve().parent.parent


def test_a_failed_backup_leaves_no_part_file_and_alerts_the_admins():
    unit = (ROOT / "deploy/systemd/tropa-backup.service").read_text()

    assert "OnFailure=tropa-alert@%n.service" in unit
    assert re.search(r"^ExecStopPost=.*-name tropa-\*\.age\.part -delete$", unit, re.M)
    assert re.search(r"^ExecStart=.* manage\.py backup --to /var/backups/tropa$", unit, re.M)
    alert = (ROOT / "deploy/systemd/tropa-alert@.service").read_text()
    assert "manage.py alert_admins --unit %i" in alert


@pytest.mark.django_db
def test_the_alert_tells_every_admin_the_unit_host_and_hour_only(dave, carol):
    dave.user.email = "dave@example.org"
    dave.user.save()
    carol.user.email = "carol@example.org"  # a coordinator: not told
    carol.user.save()

    call_command("alert_admins", "--unit", "tropa-backup.service", stdout=io.StringIO())

    assert [message.to for message in mail.outbox] == [["dave@example.org"]]
    assert "tropa-backup.service failed" in mail.outbox[0].subject
    assert AuditEntry.objects.filter(action="ops.unit_failed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("unit", ["", "x" * 200, "bad unit; rm -rf /", "\x1b[2J"])
def test_the_alert_refuses_what_is_not_a_unit_name(unit):
    with pytest.raises(CommandError):
        call_command("alert_admins", "--unit", unit)


def test_container_logs_go_to_the_journal_which_keeps_14_days():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    drivers = {name: service.get("logging", {}).get("driver") for name, service in
               compose["services"].items()}  # fmt: skip
    assert set(drivers.values()) == {"journald"}, drivers
    assert "MaxRetentionSec=14day" in (ROOT / "docs/deployment.md").read_text()


def test_the_demo_recovery_key_stays_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    assert ".demo-recovery-key" in ignored


def test_healthz_and_the_api_description_are_not_public_on_the_tls_site():
    nginx = (ROOT / "deploy/nginx/tropa.conf").read_text()
    tls = nginx.split("# Onion service")[0]

    for location in ("location = /healthz {", "location = /api/v1/openapi.json {"):
        block = tls.split(location)[1].split("}")[0]
        assert "deny all;" in block, location


def test_nginx_answers_the_api_in_json():
    nginx = (ROOT / "deploy/nginx/tropa.conf").read_text()

    api = nginx.split("location /api/ {")[1].split("}")[0]
    assert "error_page 429 = @api_too_many;" in api
    assert "default_type application/json;" in nginx.split("location @api_too_many {")[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/", form_data()),
        ("/receipt/language/", {"code": "0000-0000-0000-0000-0000", "language": "en"}),
        ("/status/", {"code": "x"}),
        ("/status/message/", {"code": "x", "body": "hello"}),
        ("/api/v1/requests", {"narrative": "hello"}),
    ],
)
def test_no_public_post_can_put_its_fields_in_an_error_report(client, path, data):
    response = client.post(path, data)

    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
