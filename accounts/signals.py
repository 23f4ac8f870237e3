"""
Every change to a staff account is audited, whichever code makes it.

The services in accounts.services write their own entries, which say who did
what and why, and mark their changes as audited (`audited_by_service`).
Anything else that changes an account (a shell, Django's management commands,
a page added later) is caught here: the account, which fields changed (never
their values), which groups were added or removed, which devices appeared or
went away.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from accounts.models import AuthenticatorDevice, BackupCodeDevice
from audit.services import record

User = get_user_model()
# Flags and credentials; a change of any of them is an account change.
TRACKED_FIELDS = ("username", "password", "is_active", "is_staff", "is_superuser")

_audited = ContextVar("accounts_change_audited", default=False)


@contextmanager
def audited_by_service() -> Iterator[None]:
    """Changes made inside are audited by the service that makes them."""
    token = _audited.set(True)
    try:
        yield
    finally:
        _audited.reset(token)


def _username(user_id: int | None) -> str:
    name = User.objects.filter(pk=user_id).values_list("username", flat=True).first()
    return name or f"user:{user_id}"


def note_changed_fields(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None or _audited.get():
        return
    fields = [f for f in TRACKED_FIELDS if update_fields is None or f in update_fields]
    before = sender.objects.filter(pk=instance.pk).values(*fields).first() if fields else None
    if before:
        instance._changed_fields = [f for f in fields if before[f] != getattr(instance, f)]


def record_account_change(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    changed = instance.__dict__.pop("_changed_fields", None)
    if raw or _audited.get():
        return
    if created:
        record("account.created", target=instance.get_username())
    elif changed:
        record("account.changed", target=instance.get_username(), fields=changed)


def record_account_deleted(sender, instance, **kwargs) -> None:
    if not _audited.get():
        record("account.deleted", target=instance.get_username())


def record_group_change(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if _audited.get() or action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:  # group.user_set.add(...)
        users = list(User.objects.filter(pk__in=pk_set or ()))
        groups = [instance.name]
    else:
        users = [instance]
        groups = sorted(Group.objects.filter(pk__in=pk_set or ()).values_list("name", flat=True))
    for user in users:
        record(
            "account.groups_changed",
            target=user.get_username(),
            change=action.removeprefix("post_"),
            groups=groups,
        )


def record_device_added(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and not _audited.get():
        record(
            "account.device_added",
            target=_username(instance.user_id),
            device=sender._meta.model_name,
        )


def record_device_removed(sender, instance, **kwargs) -> None:
    if not _audited.get():
        record(
            "account.device_removed",
            target=_username(instance.user_id),
            device=sender._meta.model_name,
        )


def connect() -> None:
    pre_save.connect(note_changed_fields, sender=User, dispatch_uid="accounts.note_changed")
    post_save.connect(record_account_change, sender=User, dispatch_uid="accounts.changed")
    post_delete.connect(record_account_deleted, sender=User, dispatch_uid="accounts.deleted")
    m2m_changed.connect(
        record_group_change, sender=User.groups.through, dispatch_uid="accounts.groups"
    )
    from django_otp_webauthn.models import WebAuthnCredential

    for model in (AuthenticatorDevice, BackupCodeDevice, WebAuthnCredential):
        post_save.connect(record_device_added, sender=model, dispatch_uid=f"add.{model.__name__}")
        post_delete.connect(
            record_device_removed, sender=model, dispatch_uid=f"rm.{model.__name__}"
        )
