"""
`manage.py alert_admins --unit NAME`: tell every admin that a scheduled unit
failed (systemd's OnFailure=tropa-alert@%n.service runs it).

The mail names the unit, this host and the hour, nothing else: it passes
through servers the organisation does not control. The details stay in the
journal (`journalctl -u NAME`). The alert is also written to the audit log.
"""

import re
import socket

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.roles import Role
from audit.services import record
from core.clock import hour_of

# What systemd accepts in a unit name; anything else is not one.
UNIT_NAME = re.compile(r"[A-Za-z0-9@._:\\-]{1,128}")


class Command(BaseCommand):
    help = "Mail every admin that a scheduled unit failed (unit name, host and hour only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--unit", required=True, help="the unit that failed, e.g. tropa-backup")

    def handle(self, *args, unit: str, **options) -> None:
        if not UNIT_NAME.fullmatch(unit):
            raise CommandError("--unit must be a systemd unit name (letters, digits, @._:-\\)")
        admins = list(
            get_user_model()
            .objects.filter(groups__name=Role.ADMIN, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        when = timezone.localtime(hour_of()).strftime("%Y-%m-%d %H:00")
        host = socket.gethostname()
        record("ops.unit_failed", target=unit[:150], host=host[:100])
        if not admins:
            self.stderr.write(
                "No admin has an e-mail address: the failure is in the audit log only."
            )
            return
        send_mail(
            f"Tropa: {unit} failed on {host}",
            f"The scheduled unit {unit} failed on {host} in the hour from {when}.\n"
            f"Details: journalctl -u {unit} on that host.\n",
            settings.DEFAULT_FROM_EMAIL,
            admins,
        )
        self.stdout.write(f"Told {len(admins)} admin(s) that {unit} failed.")
