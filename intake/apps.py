from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("Intake")

    def ready(self) -> None:
        from encryption.signals import shredding
        from intake.shredding import forget_attachments_everywhere, forget_receipts

        shredding.connect(forget_receipts, dispatch_uid="intake.forget_receipts")
        shredding.connect(forget_attachments_everywhere, dispatch_uid="intake.forget_attachments")
