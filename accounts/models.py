"""What the staff sign-in keeps beside Django's user: failures and locks."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInGuard(models.Model):
    """Consecutive failed passwords and codes of one account, and its lock."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_guard"
    )
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in guard")

    def __str__(self) -> str:
        return f"guard for user {self.user_id}"

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class Lockdown(models.Model):
    """
    One emergency lockdown: while it is in force, only admins (with
    their second factor, as always) can sign in. Rows are kept as history.
    """

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    started_by = models.CharField(_("started by"), max_length=150, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=150, blank=True)
    in_force = models.BooleanField(_("in force"), default=True)

    class Meta:
        verbose_name = _("lockdown")
        verbose_name_plural = _("lockdowns")
        ordering = ["-started_at"]
        constraints = [
            # At most one lockdown in force at a time.
            models.UniqueConstraint(
                fields=["in_force"],
                condition=models.Q(in_force=True),
                name="one_lockdown_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"lockdown {self.started_at:%Y-%m-%d %H:%M}"
