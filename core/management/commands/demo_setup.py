"""`manage.py demo_setup`: demo data and demo accounts for a newcomer's machine."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role
from accounts.services import create_staff, renew_credentials
from intake.models import HelpRequest
from reports.models import MonthlyReport
from reports.services import months_with_requests, store_reports

DEMO_ACCOUNTS = {
    "demo-caseworker": Role.CASEWORKER,
    "demo-coordinator": Role.COORDINATOR,
    "demo-admin": Role.ADMIN,
}


class Command(BaseCommand):
    help = (
        "Seed demo data into an empty database and (re)create one demo account per role, "
        "printing how to sign in. Development only: refuses to run with DEBUG off."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup creates accounts with printed passwords: DEBUG only.")
        if not HelpRequest.objects.exists():
            call_command("seed_demo", stdout=self.stdout, stderr=self.stderr, verbosity=0)
        if not MonthlyReport.objects.exists():
            # What beat would have stored month after month.
            store_reports(months_with_requests())
            self.stdout.write(f"Stored {MonthlyReport.objects.count()} monthly reports.")
        self.stdout.write(
            "\nDemo accounts, renewed on every start. Sign in at /staff/login/ with the "
            "password, then one of the backup codes (each works once) or a code from an "
            "authenticator app that scanned the otpauth:// link.\n"
        )
        for username, role in DEMO_ACCOUNTS.items():
            password = secrets.token_urlsafe(12)
            existing = get_user_model().objects.filter(username=username).first()
            if existing:
                staff = renew_credentials(existing, password, actor="demo_setup")
            else:
                staff = create_staff(username, role, password, actor="demo_setup")
            self.stdout.write(
                f"  {role:<12} user {username:<17} password {password}\n"
                f"               backup codes {' '.join(staff.backup_codes[:3])}\n"
                f"               {staff.otpauth_uri}\n"
            )
