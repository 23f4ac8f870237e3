"""Stored monthly reports: what the dashboard shows and coordinators publish from."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MonthlyReport(models.Model):
    month = models.DateField(_("month"), unique=True)  # the first day of the month
    data = models.JSONField(_("figures"))
    # The same figures as they may be shown and quoted (reports.publication):
    # withheld ones are null. Empty for a report stored before it existed.
    published = models.JSONField(_("published figures"), default=dict, blank=True)
    generated_at = models.DateTimeField(_("generated at"))

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month"]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")
