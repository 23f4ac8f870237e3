"""
Sealing content with nothing but the organisation's public key.

The web form, the bot API, the Telegram bot, `import_requests`, `seed_demo`,
requester messages and staff replies all come through here. None of them can
open what they seal: that takes a caseworker's session (encryption.access).

Which columns are content, and which column holds the key each is sealed
under, is read from the models (`SealedTextField.key_field`), so this module
knows no domain model by name.
"""

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.db import models
from django.utils.translation import gettext_lazy as _

from encryption import content, objects
from encryption.fields import Sealed, SealedTextField, sealed_row
from encryption.models import KeyEnvelope, OrganisationKey, new_envelope_id


class NoOrganisationKey(Exception):
    """Nothing can be sealed before the first caseworker bootstraps the organisation key."""

    message = _(
        "This installation has no organisation key yet: create the first caseworker "
        "(manage.py create_staff NAME --role caseworker) before taking requests."
    )

    def __init__(self) -> None:
        super().__init__(str(self.message))


class SealingFailed(Exception):
    """
    Sealing did not work (a damaged organisation public key, a fault in the
    cipher). There is no fallback: the caller stores nothing, in clear or
    otherwise, and says so. The message names the kind of fault, never a value.
    """


def _failed(error: Exception) -> Exception:
    """The exception to raise for a fault while sealing: SealingFailed, naming only
    the kind of fault (raised `from None`: an exception from inside a cipher
    could carry its input)."""
    if isinstance(error, SealingFailed | NoOrganisationKey):
        return error
    return SealingFailed(f"sealing failed: {type(error).__name__}")


@contextmanager
def _sealing() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        raise _failed(error) from None


class OrganisationPublicKey:
    """The active organisation key's id and public half."""

    def __init__(self, key_id: int, public: bytes) -> None:
        self.id, self.public = key_id, public

    def __repr__(self) -> str:
        return f"<OrganisationPublicKey {self.id}>"


def active_public_key() -> OrganisationPublicKey:
    key = (
        OrganisationKey.objects.filter(state=OrganisationKey.State.ACTIVE)
        .values_list("pk", "public_key")
        .first()
    )
    if key is None:
        raise NoOrganisationKey
    return OrganisationPublicKey(key[0], bytes(key[1]))


class Envelope:
    """
    A new envelope key, sealed to the organisation public key. Keys wrapped
    under it name it by id; `row` is the KeyEnvelope to store with them.
    """

    def __init__(self, organisation: OrganisationPublicKey | None = None) -> None:
        organisation = organisation or active_public_key()
        self._key = content.new_key()
        self._wrapper: content.KeyWrapper | None = None
        with _sealing():
            sealed = content.seal_to(
                organisation.public, self._key, content.envelope_info(organisation.id)
            )
        self.row = KeyEnvelope(
            id=new_envelope_id(), organisation_key_id=organisation.id, sealed=sealed
        )

    def __repr__(self) -> str:
        return f"<Envelope {self.row.id}>"

    def wrap(self, key: bytes, purpose: str, row: str) -> bytes:
        if self._wrapper is None:
            self._wrapper = content.KeyWrapper(self.row.id, self._key)
        return self._wrapper.wrap(key, purpose, row)


@functools.cache
def sealed_fields(model: type[models.Model]) -> dict[str, list[SealedTextField]]:
    """The model's content columns, grouped by the key column they are sealed under."""
    groups: dict[str, list[SealedTextField]] = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, SealedTextField):
            groups.setdefault(field.key_field, []).append(field)
    return groups


@functools.cache
def _fields_by_name(model: type[models.Model]) -> dict[str, SealedTextField]:
    return {f.name: f for group in sealed_fields(model).values() for f in group}


def seal_texts(
    model: type[models.Model], texts: Mapping[str, str], envelope: Envelope, row: str
) -> tuple[bytes, dict[str, Sealed | str], bytes]:
    """
    Seal `texts` (field name → text) of one `model` row under one new key,
    wrapped under `envelope`: (the wrapped key, the sealed values, the key).
    The values and the wrapped key are bound to `row` (the model's `sealed_row`
    of the row they are stored in: a request's reference). All the fields must
    share one key column; empty text stays empty. Raises SealingFailed.
    """
    fields = _fields_by_name(model)
    key_fields = {fields[name].key_field for name in texts}
    if len(key_fields) != 1:
        raise ValueError("the fields sealed together must share one key column")
    if not row:
        raise ValueError("sealed values are bound to a row: name it")
    key = content.new_key()
    # A plain try (not _sealing()): an import runs this for each of a million rows.
    try:
        wrapped = envelope.wrap(key, fields[next(iter(texts))].key_purpose, row)
        sealer = content.ValueSealer(key)
        sealed = {
            name: Sealed(sealer.seal_text(text, fields[name].label, row)) if text else ""
            for name, text in texts.items()
        }
    except Exception as error:
        raise _failed(error) from None
    return wrapped, sealed, key


def seal_into(instance: models.Model, texts: Mapping[str, str], envelope: Envelope) -> bytes:
    """
    Seal `texts` into the instance under one new key, wrapped under `envelope`
    into the fields' key column. Returns the new key. The caller stores
    `envelope.row` in the same transaction as the instance.
    """
    wrapped, sealed, key = seal_texts(type(instance), texts, envelope, sealed_row(instance))
    setattr(instance, _key_field(instance, texts), wrapped)
    for name, value in sealed.items():
        setattr(instance, name, value)
    return key


def _key_field(instance: models.Model, texts: Mapping[str, str]) -> str:
    return instance._meta.get_field(next(iter(texts))).key_field


def seal_item(
    instance: models.Model,
    name: str,
    text: str,
    *,
    sealed_to: bytes = b"",
    sealed_key_field: str = "",
) -> Envelope:
    """
    Seal one message's or note's field under a key of its own, in a new
    envelope, and also seal that key to the public key `sealed_to` (the
    requester's) into `sealed_key_field`. Returns the envelope: the caller
    stores its row, then the instance, in one transaction.
    """
    return seal_item_keyed(
        instance, name, text, sealed_to=sealed_to, sealed_key_field=sealed_key_field
    )[0]


def seal_item_keyed(
    instance: models.Model,
    name: str,
    text: str,
    *,
    sealed_to: bytes = b"",
    sealed_key_field: str = "",
) -> tuple[Envelope, bytes]:
    """seal_item, also returning the item's key: what is sealed with the item
    (a message's attachments, seal_object) is sealed under it too."""
    envelope = Envelope()
    key = seal_into(instance, {name: text}, envelope)
    if sealed_to:
        setattr(instance, sealed_key_field, seal_to_requester(sealed_to, key))
    return envelope, key


def seal_to_requester(requester_public: bytes, key: bytes) -> bytes:
    """A message key sealed to the requester's public key (their receipt code opens it)."""
    with _sealing():
        return content.seal_to(requester_public, key, content.REQUESTER_INFO)


def seal_object(key: bytes, data: bytes, purpose: str, row: str) -> bytes:
    """
    A large value (an attachment's image) sealed under `key` (the key of the
    request or message it belongs to, as returned by seal_texts or seal_item),
    in the chunked object format (encryption.objects), bound to `row`. Raises
    SealingFailed, naming only the kind of fault.
    """
    with _sealing():
        return objects.seal_object(key, data, purpose, row)
