"""manage.py lockdown [--lift | --status]: the emergency lockdown from a server shell."""

from django.core.management.base import BaseCommand, CommandError

from accounts import lockdown


class Command(BaseCommand):
    help = (
        "End every staff session now and refuse every sign-in except admins with their "
        "second factor, until lifted with --lift. The public form keeps working."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--lift", action="store_true", help="Lift the lockdown in force.")
        group.add_argument("--status", action="store_true", help="Say whether one is in force.")

    def handle(self, *args, lift: bool, status: bool, **options):
        current = lockdown.in_force()
        if status:
            if current:
                self.stdout.write(
                    f"Lockdown in force since {current.started_at:%Y-%m-%d %H:%M %Z}."
                )
            else:
                self.stdout.write("No lockdown is in force.")
            return
        try:
            if lift:
                lockdown.lift(actor="manage.py lockdown")
                self.stdout.write("Lockdown lifted: staff can sign in again.")
            else:
                ended = lockdown.start(actor="manage.py lockdown")
                self.stdout.write(
                    f"Lockdown in force: {ended} session(s) ended. Only admins can sign in "
                    "until `manage.py lockdown --lift`."
                )
        except lockdown.LockdownError as error:
            raise CommandError(str(error)) from None
