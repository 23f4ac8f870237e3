"""
The three staff roles of SPEC.md, as Django groups.

Roles are checked by group membership, not by Django permissions, so that a
superuser flag never grants reading case content: only caseworkers read it.
The groups also carry model permissions, which is what the Django admin uses.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    COORDINATOR = "coordinator", _("Coordinator")
    ADMIN = "admin", _("Admin")


ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.CASEWORKER: [
        "cases.view_case",
        "cases.change_case",
        "cases.read_case_content",
        "cases.view_casenote",
        "cases.add_casenote",
    ],
    Role.COORDINATOR: ["cases.view_statistics"],
    Role.ADMIN: [
        "auth.view_user",
        "auth.change_user",
        "audit.view_auditentry",
        "cases.view_statistics",
        "cases.export_statistics",
    ],
}


def roles_of(user) -> set[str]:
    """The roles of a user, read once per user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_roles_cache", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        user._roles_cache = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def home_url(user) -> str:
    """Where each role starts: the queue, the dashboard, or the staff list."""
    roles = roles_of(user)
    if Role.CASEWORKER in roles:
        return "/staff/"
    if Role.COORDINATOR in roles:
        return "/staff/dashboard/"
    if Role.ADMIN in roles:
        return "/staff/accounts/"
    return "/staff/no-role/"


def ensure_role_groups(**kwargs) -> None:
    """Create the role groups and give them their permissions (after every migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted += Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(wanted)
