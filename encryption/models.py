"""Server secrets: random keys that must outlive a rotation of ENCRYPTION_KEY."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from encryption.fields import EncryptedTextField


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
