"""Site-wide records: tables waiting to be rewritten (core/storage.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingRewrite(models.Model):
    """
    A table whose files may still hold erased or replaced values (dead rows
    left by the retention purge or a key rotation) until it is rewritten.
    Names and times only: never a value.
    """

    table = models.CharField(_("table"), max_length=100, unique=True)
    reason = models.CharField(_("reason"), max_length=40)
    requested_at = models.DateTimeField(_("requested at"))

    class Meta:
        verbose_name = _("table waiting to be rewritten")
        verbose_name_plural = _("tables waiting to be rewritten")
        ordering = ["requested_at", "table"]

    def __str__(self) -> str:
        return self.table
