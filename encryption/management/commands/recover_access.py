"""`manage.py recover_access USERNAME`: restore a caseworker's access with the recovery key."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.prompts import ask_secret
from encryption import services
from encryption.content import CannotOpen


class Command(BaseCommand):
    help = (
        "Grant USERNAME access to the content with the recovery key printed when the first "
        "caseworker was created. The key is asked for (never taken from the command line); "
        "USERNAME must have signed in once with their own password, so that their key exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account named {username!r}.")
        typed = ask_secret("Recovery key: ")
        try:
            result = services.recover_access(user, typed, actor="manage.py recover_access")
        except (services.ContentKeyError, CannotOpen) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{username} has access again ({result.keys} organisation key(s)). "
            "Their sessions from before must sign in again to use it."
        )
