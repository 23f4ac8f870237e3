"""
Where keys are kept.

The content keys of docs/encryption.md: public halves, and private halves only
wrapped (to a caseworker, to the recovery key, under a password); no column
here opens anything without a caseworker's password or the recovery key on
paper. And the server's own secrets (ServerSecret), encrypted at rest.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from encryption.fields import EncryptedTextField


class OrganisationKey(models.Model):
    """An organisation key pair: its public half, and how far along its life it is."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        # Replaced by a newer key; its envelopes are being re-sealed.
        RETIRING = "retiring", _("Being replaced")
        RETIRED = "retired", _("Retired")

    public_key = models.BinaryField(_("public key"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("organisation key")
        verbose_name_plural = _("organisation keys")
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_org_key"
            )
        ]

    def __str__(self) -> str:
        return f"organisation key {self.pk} ({self.state})"


class CaseworkerKey(models.Model):
    """A caseworker's key pair, the private half wrapped under Argon2id(password)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="content_key_pair"
    )
    public_key = models.BinaryField(_("public key"))
    salt = models.BinaryField()
    wrapped_private = models.BinaryField()
    kdf_passes = models.PositiveSmallIntegerField()
    kdf_memory_kib = models.PositiveIntegerField()
    kdf_lanes = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("caseworker key")
        verbose_name_plural = _("caseworker keys")

    def __str__(self) -> str:
        return f"key of user {self.user_id}"


class ContentGrant(models.Model):
    """Access: an organisation private key sealed to one caseworker's public key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="content_grants"
    )
    organisation_key = models.ForeignKey(
        OrganisationKey, on_delete=models.CASCADE, related_name="grants"
    )
    sealed = models.BinaryField()
    granted_by = models.CharField(_("granted by"), max_length=150, blank=True)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("content access grant")
        verbose_name_plural = _("content access grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation_key"], name="one_grant_per_user_and_key"
            )
        ]

    def __str__(self) -> str:
        return f"grant of key {self.organisation_key_id} to user {self.user_id}"


class RecoveryKey(models.Model):
    """The public half of the installation's recovery key (the secret is on paper)."""

    public_key = models.BinaryField(_("public key"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("recovery key")

    def __str__(self) -> str:
        return f"recovery key {self.pk}"


class RecoveryWrap(models.Model):
    """An organisation private key sealed to the recovery key."""

    organisation_key = models.OneToOneField(
        OrganisationKey, on_delete=models.CASCADE, related_name="recovery_wrap"
    )
    recovery_key = models.ForeignKey(RecoveryKey, on_delete=models.CASCADE, related_name="wraps")
    sealed = models.BinaryField()

    class Meta:
        verbose_name = _("recovery wrap")

    def __str__(self) -> str:
        return f"recovery wrap of key {self.organisation_key_id}"


def new_envelope_id() -> int:
    # Random, so a worker process can name an envelope before it is stored.
    return secrets.randbelow(2**62) + 1


class KeyEnvelope(models.Model):
    """
    A random envelope key sealed to the organisation public key. Request,
    message and note keys are wrapped under it; wrapped keys name it by id.
    No timestamp: an envelope is made at the moment a requester writes.
    """

    id = models.BigIntegerField(primary_key=True, default=new_envelope_id, editable=False)
    organisation_key = models.ForeignKey(
        OrganisationKey, on_delete=models.PROTECT, related_name="envelopes"
    )
    sealed = models.BinaryField()

    class Meta:
        verbose_name = _("key envelope")
        verbose_name_plural = _("key envelopes")

    def __str__(self) -> str:
        return f"envelope {self.pk}"


class ServerSecret(models.Model):
    """
    A random key the server made for itself (encryption.server_secrets), kept
    only encrypted at rest like every other value, so `rotate_encryption_key`
    re-encrypts it and the key itself stays the same. Keys derived from
    ENCRYPTION_KEY (encryption.keys.purpose_key) would change with a rotation,
    and whatever was keyed with them (a receipt code's hash) would stop matching.
    """

    name = models.CharField(_("name"), max_length=64, unique=True)
    value = EncryptedTextField(_("value"))

    class Meta:
        verbose_name = _("server secret")
        verbose_name_plural = _("server secrets")

    def __str__(self) -> str:
        return self.name


class KeptDraft(models.Model):
    """
    What a person had typed when their session ended under them (encryption.drafts):
    sealed under a one-time key that only their browser holds (a cookie), kept
    here until they sign in again or DRAFT_KEEP_MINUTES pass, opened once.
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    sealed = models.BinaryField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("kept draft")
        verbose_name_plural = _("kept drafts")
        indexes = [models.Index(fields=["expires_at"], name="kept_draft_expiry_idx")]

    def __str__(self) -> str:
        return f"kept draft until {self.expires_at:%Y-%m-%d %H:%M}"
