"""Audit entries and the head of their chain."""

import hashlib
import json

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Audit entries are never changed or deleted."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """One thing that happened. `target` is a reference or a username, never content."""

    seq = models.PositiveBigIntegerField(_("number"), unique=True, editable=False)
    at = models.DateTimeField(_("at"), editable=False)
    actor = models.CharField(_("actor"), max_length=150, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=40, editable=False)
    target = models.CharField(_("target"), max_length=150, blank=True, editable=False)
    detail = models.JSONField(_("detail"), default=dict, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_idx"),
            models.Index(fields=["target"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")

    def compute_hash(self) -> str:
        """SHA-256 over the previous hash and every field, in a fixed form."""
        payload = json.dumps(
            {
                "seq": self.seq,
                "at": self.at.isoformat(),
                "actor": self.actor,
                "action": self.action,
                "target": self.target,
                "detail": self.detail,
                "prev": self.prev_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hashlib.sha256(payload.encode("ascii")).hexdigest()


class ChainHead(models.Model):
    """
    The one row that says where the chain ends. Appending updates it first, so
    concurrent appends queue behind its lock instead of forking the chain, and
    deleting the last entries is caught because the head still names them.
    """

    seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"head at #{self.seq}"


class ChainCheck(models.Model):
    """
    One verification of the chain, run in the background (audit.tasks), and its
    result. An intact check is also the checkpoint the next one continues from:
    the sequence number and hash it verified the chain up to.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        RUNNING = "running", _("running")
        INTACT = "intact", _("intact")
        BROKEN = "broken", _("broken")

    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.CharField(_("requested by"), max_length=150, blank=True)
    from_start = models.BooleanField(_("from the first entry"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    first_seq = models.PositiveBigIntegerField(_("first entry checked"), default=1)
    entries = models.PositiveBigIntegerField(_("entries checked"), default=0)
    verified_seq = models.PositiveBigIntegerField(_("verified up to"), default=0)
    verified_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    broken_at = models.PositiveBigIntegerField(_("broken at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "verified_seq"], name="audit_check_idx")]

    def __str__(self) -> str:
        return f"check of {self.requested_at:%Y-%m-%d %H:%M}: {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.INTACT, self.Status.BROKEN)


class SignedCheckpoint(models.Model):
    """
    One signed checkpoint of the chain's head and where it has been delivered.
    This row is bookkeeping only: the database's writer could change it, so
    trust comes from the copies delivered off the database (the checkpoint
    store and the admins' mail), which `verify_audit_log --checkpoints` reads.
    """

    number = models.PositiveBigIntegerField(_("number"), unique=True)
    entries = models.PositiveBigIntegerField(_("entries"))
    head = models.CharField(_("head hash"), max_length=64)
    hour = models.DateTimeField(_("hour"))
    key_id = models.CharField(_("key"), max_length=16)
    text = models.TextField(_("signed text"))
    stored_as = models.CharField(_("stored as"), max_length=200, blank=True)
    store_error = models.CharField(_("store error"), max_length=200, blank=True)
    mailed = models.BooleanField(_("mailed"), default=False)
    mail_error = models.CharField(_("mail error"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("delivery attempts"), default=0)

    class Meta:
        verbose_name = _("signed audit checkpoint")
        verbose_name_plural = _("signed audit checkpoints")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"checkpoint #{self.number} at entry #{self.entries}"

    @property
    def stored(self) -> bool:
        return bool(self.stored_as)
