"""What the content-key commands share: a caseworker who proves it with their password."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.roles import Role, has_role
from core.prompts import ask_secret
from encryption import services as key_services
from encryption.access import ContentKeys


@dataclass(repr=False)
class Unlocked:
    user: object
    password: str

    def keys(self) -> ContentKeys:
        """The organisation keys the caseworker's grants open now."""
        return ContentKeys(key_services.unlock(self.user, self.password))


def unlock_caseworker(username: str) -> Unlocked:
    """The caseworker, unlocked with their password (asked, never from argv)."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not has_role(user, Role.CASEWORKER):
        raise CommandError(f"{username!r} is not an active caseworker.")
    password = ask_secret(f"Password of {username}: ")
    if not user.check_password(password):
        raise CommandError("Wrong password.")
    unlocked = Unlocked(user, password)
    if not unlocked.keys():
        raise CommandError(f"{username} has no access to the content: a caseworker must grant it.")
    return unlocked
