"""Django admin actions go into the audit log too."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.services import record

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


@receiver(post_save, sender=LogEntry)
def record_admin_action(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    # The object's type and id only: an object's repr may say more than it should.
    record(
        ADMIN_ACTIONS.get(instance.action_flag, "admin.action"),
        actor=instance.user,
        target=f"{instance.content_type.app_label}.{instance.content_type.model}:{instance.object_id}",
    )
