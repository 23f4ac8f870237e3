"""`manage.py demo_setup`: demo data and demo accounts for a newcomer's machine."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from intake.models import HelpRequest


class Command(BaseCommand):
    help = (
        "Seed demo data into an empty database and (re)create the demo accounts, printing "
        "how to log in. Development only: refuses to run with DEBUG off."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup creates accounts with printed passwords: DEBUG only.")
        if not HelpRequest.objects.exists():
            call_command("seed_demo", stdout=self.stdout, stderr=self.stderr, verbosity=0)
        password = secrets.token_urlsafe(12)
        user, _created = get_user_model().objects.get_or_create(username="demo-admin")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            "\nDemo account (password renewed on every start):\n"
            f"  admin    user demo-admin    password {password}\n"
            "  Django admin: /admin/ on the address below\n"
        )
