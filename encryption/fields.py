"""
Encrypted model fields: our one wrapper around django-cryptography.

Values are AES-256-CBC encrypted and HMAC-SHA256 authenticated with
django-cryptography's Fernet framing, under keys derived from ENCRYPTION_KEY.
Two deliberate departures from the library's defaults:

* its signer would authenticate with SECRET_KEY; ours uses a key derived from
  ENCRYPTION_KEY, so rotating SECRET_KEY never makes stored data unreadable;
* text is stored as UTF-8, not pickled, so reading the database never runs
  pickle.loads on what is found there;
* the UTF-8 is padded to a size bucket before encryption (encryption.padding),
  so a ciphertext's length does not give away the length of the text. Values
  stored before padding existed still read, and `rotate_encryption_key` pads
  them.

Reading tries the current key, then each old key, which is what makes key
rotation possible (`rotate_encryption_key` rewrites values under the current
key). An empty value is stored as NULL, which is also what a purge leaves.
"""

from functools import cache
from typing import Any

from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.fields import EncryptedMixin
from django_cryptography.utils.crypto import FernetBytes, InvalidToken

from encryption.content import is_sealed
from encryption.keys import key_materials
from encryption.padding import is_padded, pad, unpad


class UndecryptableValue(Exception):
    """A stored value that none of the configured keys can open."""


class Keyring:
    """Encrypts under the current key and decrypts under any configured key."""

    def __init__(self) -> None:
        self._ciphers = [
            FernetBytes(material.cipher, signer=FernetSigner(material.mac))
            for material in key_materials()
        ]

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._ciphers[0].encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(token)
            except (BadSignature, InvalidToken):
                continue
        # The token itself is never put in the message: it is still ciphertext,
        # but it has no business in a log.
        raise UndecryptableValue(
            "An encrypted value could not be opened with ENCRYPTION_KEY or any of "
            "ENCRYPTION_OLD_KEYS. Is the right key configured?"
        )

    def is_current(self, token: bytes) -> bool:
        """Whether the current key opens this value (rotation skips those)."""
        try:
            self._ciphers[0].decrypt(token)
        except (BadSignature, InvalidToken):
            return False
        return True

    def open(self, token: bytes) -> tuple[bytes, bool]:
        """The plaintext, and whether it is stored as new values are: under the
        current key, and padded (content sealed to the organisation is padded
        inside its seal). Raises UndecryptableValue like decrypt."""
        try:
            plaintext = self._ciphers[0].decrypt(token)
        except (BadSignature, InvalidToken):
            return self.decrypt(token), False
        return plaintext, is_padded(plaintext) or is_sealed(plaintext)


@cache
def keyring() -> Keyring:
    return Keyring()


@receiver(setting_changed)
def _forget_keyring(setting: str, **kwargs: Any) -> None:
    if setting in {"ENCRYPTION_KEY", "ENCRYPTION_OLD_KEYS"}:
        keyring.cache_clear()


class EncryptedTextField(EncryptedMixin, models.TextField):
    """
    A text column stored encrypted. Only `isnull` lookups are possible: the
    database cannot compare what it cannot read.
    """

    base_class = models.TextField
    wasinstance = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["null"] = True
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # Bypass the library's deconstruct, which points migrations at its own
        # field factory; migrations must only name this module.
        return models.Field.deconstruct(self)

    def clone(self):
        _name, _path, args, kwargs = self.deconstruct()
        return self.__class__(*args, **kwargs)

    def _dump(self, value: str) -> bytes:
        return keyring().encrypt(pad(value.encode("utf-8")))

    def _load(self, value: bytes) -> str:
        return unpad(keyring().decrypt(value)).decode("utf-8")

    def get_db_prep_value(self, value: Any, connection, prepared: bool = False) -> Any:
        if value is None or value == "":
            return None
        return self._dump(str(value))

    get_db_prep_save = get_db_prep_value

    def from_db_value(self, value: Any, *args: Any, **kwargs: Any) -> str:
        if value is None:
            return ""
        return self._load(bytes(value))


class Sealed(bytes):
    """
    A value sealed to the organisation (docs/encryption.md): the version byte,
    nonce and ciphertext of `encryption.content.seal_text`. Only a content key
    opens it; see `encryption.access`.
    """


class Unsealed(str):
    """
    A value stored before content keys existed: plain text under the at-rest
    layer only, until `manage.py seal_content` seals it to the organisation.
    """


class SealedTextField(EncryptedTextField):
    """
    Content: sealed to the organisation by `encryption.sealing` before it is
    stored, then encrypted at rest like every EncryptedTextField. Assigning
    plain text is refused, so no code path can store content the server could
    read back by itself.

    Reading gives "" (no value), `Sealed` or, for rows not yet migrated,
    `Unsealed`.

    `key_field` names the binary column of the same row that holds the wrapped
    key this value is sealed under: a request's fields share one key, a
    message or note has its own.
    """

    def __init__(self, *args: Any, key_field: str, **kwargs: Any) -> None:
        self.key_field = key_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["key_field"] = self.key_field
        return name, path, args, kwargs

    @property
    def label(self) -> str:
        """What the sealed value is bound to (its associated data): model and field."""
        return f"{self.model._meta.label_lower}.{self.name}"

    @property
    def key_purpose(self) -> str:
        """What the wrapped key is bound to: model and key column."""
        return f"{self.model._meta.label_lower}.{self.key_field}"

    def get_db_prep_value(self, value: Any, connection, prepared: bool = False) -> Any:
        if value is None or value == "" or value == b"":
            return None
        if isinstance(value, Unsealed):
            # A row from before content keys saved back unchanged.
            return self._dump(str(value))
        if isinstance(value, memoryview):
            value = bytes(value)
        if isinstance(value, bytes) and is_sealed(value):
            # Padded inside the seal already (encryption.content): no second padding.
            return keyring().encrypt(value)
        raise TypeError(
            f"{self.model.__name__}.{self.name}: content must be sealed "
            "(encryption.sealing) before it is stored"
        )

    get_db_prep_save = get_db_prep_value

    def from_db_value(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if value is None:
            return ""
        payload = keyring().decrypt(bytes(value))
        if is_sealed(payload):
            return Sealed(payload)
        return Unsealed(unpad(payload).decode("utf-8"))

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata) never shows content, not even sealed.
        return ""


def sealed_row(instance: models.Model) -> str:
    """
    What the content of this instance is bound to (version 2 of the stored
    formats, docs/encryption.md), so that a value copied onto another row does
    not open there: the model's `sealed_row_path` followed from the instance,
    e.g. "request__reference" for a message.
    """
    path = getattr(type(instance), "sealed_row_path", None)
    if path is None:
        raise TypeError(
            f"{type(instance).__name__} has sealed fields but no sealed_row_path naming "
            "what its content is bound to (docs/encryption.md, Stored formats)"
        )
    value: Any = instance
    for name in path.split("__"):
        value = getattr(value, name)
    if not value:
        raise ValueError(f"{type(instance).__name__} names no row to bind its content to")
    return str(value)


def sealed_row_related(model: type[models.Model]) -> list[str]:
    """What to select_related to compute `sealed_row` of many rows at once."""
    path = model.sealed_row_path.split("__")[:-1]
    return ["__".join(path)] if path else []


class FingerprintField(models.CharField):
    """
    A keyed fingerprint of a contact, "k<organisation key id>:<HMAC-SHA256 hex>",
    keyed from the organisation private key (encryption.fingerprint), so only a
    caseworker session can make or test one. "" means not computed (yet).
    `shred_content_keys` finds and erases every such column.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 84)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)
