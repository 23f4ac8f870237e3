"""
Opening content: the read side of docs/encryption.md.

`ContentKeys` holds the organisation private keys unlocked for one
caseworker's request (encryption.session puts them there from the session and
the caseworker's cookie) and opens envelopes, wrapped keys and sealed values
with them. `RequesterKeys` does the same for a requester and their receipt
code. Nothing is cached beyond the object, which lives as long as the request.
"""

from collections.abc import Iterable

from django.db import models

from encryption import content, objects
from encryption.content import CannotOpen
from encryption.fields import Sealed, SealedTextField, Unsealed, sealed_row
from encryption.models import KeyEnvelope, OrganisationKey


def _field(instance: models.Model, name: str) -> SealedTextField:
    field = instance._meta.get_field(name)
    if not isinstance(field, SealedTextField):
        raise TypeError(f"{name} is not a sealed field")
    return field


class ContentKeys:
    """The organisation private keys one caseworker's request may use."""

    def __init__(self, organisation_keys: dict[int, bytes]) -> None:
        self._private = dict(organisation_keys)
        self._envelopes: dict[int, bytes] = {}
        self._states: dict[int, str] | None = None

    def __bool__(self) -> bool:
        return bool(self._private)

    def __repr__(self) -> str:
        return f"<ContentKeys for organisation keys {sorted(self._private)}>"

    @property
    def key_ids(self) -> list[int]:
        return sorted(self._private)

    def private_key(self, organisation_key_id: int) -> bytes:
        try:
            return self._private[organisation_key_id]
        except KeyError:
            raise CannotOpen("this session does not hold that organisation key") from None

    def organisation_keys(self) -> dict[int, bytes]:
        """Every organisation private key held (to grant them on, or to rotate)."""
        return dict(self._private)

    # --- envelopes and wrapped keys ---------------------------------------

    def load_envelopes(self, envelope_ids: Iterable[int]) -> None:
        """Open these envelopes with one query (a page of many messages)."""
        wanted = {i for i in envelope_ids if i not in self._envelopes}
        if not wanted:
            return
        rows = KeyEnvelope.objects.filter(pk__in=wanted).values_list(
            "pk", "organisation_key_id", "sealed"
        )
        for envelope_id, key_id, sealed in rows:
            if key_id in self._private:
                self._envelopes[envelope_id] = content.open_sealed(
                    self._private[key_id], bytes(sealed), content.envelope_info(key_id)
                )

    def envelope_key(self, envelope_id: int) -> bytes:
        if envelope_id not in self._envelopes:
            self.load_envelopes([envelope_id])
        try:
            return self._envelopes[envelope_id]
        except KeyError:
            raise CannotOpen("no organisation key of this session opens that envelope") from None

    def unwrap(self, wrapped: bytes, purpose: str, row: str) -> bytes:
        wrapped = bytes(wrapped)
        envelope_key = self.envelope_key(content.envelope_of(wrapped))
        return content.unwrap_key(envelope_key, wrapped, purpose, row)

    def preload(self, *groups: tuple[Iterable[models.Model], str]) -> None:
        """Open, in one query, the envelopes that the keys of these instances (each
        group: instances and the name of their key column) are wrapped under."""
        self.load_envelopes(
            content.envelope_of(bytes(getattr(instance, key_field)))
            for instances, key_field in groups
            for instance in instances
            if getattr(instance, key_field)
        )

    # --- values ---------------------------------------------------------------

    def key_of(self, instance: models.Model, name: str) -> bytes:
        """The plain key the named field of this instance is sealed under."""
        field = _field(instance, name)
        wrapped = getattr(instance, field.key_field)
        return self.unwrap(wrapped, field.key_purpose, sealed_row(instance))

    def open(self, instance: models.Model, *names: str) -> dict[str, str]:
        """The named sealed fields in clear ("" where empty or erased). A value or
        key bound to another row raises CannotOpen (docs/encryption.md)."""
        opened, keys = {}, {}
        for name in names:
            field, value = _field(instance, name), getattr(instance, name)
            if isinstance(value, Sealed):
                if field.key_field not in keys:
                    keys[field.key_field] = self.key_of(instance, name)
                opened[name] = content.open_text(
                    keys[field.key_field], value, field.label, sealed_row(instance)
                )
            else:
                opened[name] = str(value) if isinstance(value, Unsealed) else ""
        return opened

    def open_object(
        self, instance: models.Model, name: str, sealed: bytes, purpose: str, row: str
    ) -> bytes:
        """A sealed object (encryption.objects) sealed under the key of the named
        field of `instance` (a request's or a message's), bound to `row`."""
        return objects.open_object(self.key_of(instance, name), sealed, purpose, row)

    def open_one(self, instance: models.Model, name: str) -> str:
        return self.open(instance, name)[name]

    # --- fingerprints -----------------------------------------------------------

    def fingerprint_keys(self) -> dict[int, bytes]:
        """Organisation key id → its contact-fingerprint key, for every key held."""
        return {key_id: content.fingerprint_key(p) for key_id, p in self._private.items()}

    def key_states(self) -> dict[int, str]:
        """Organisation key id → its state, read once for this request."""
        if self._states is None:
            self._states = dict(OrganisationKey.objects.values_list("pk", "state"))
        return self._states

    def active_key_id(self) -> int | None:
        """The active organisation key, if this session holds it."""
        active = [k for k, state in self.key_states().items() if state == "active"]
        return active[0] if active and active[0] in self._private else None

    def replacing(self) -> bool:
        """Whether an organisation key is being replaced (a rotation under way)."""
        return OrganisationKey.State.RETIRING in self.key_states().values()


NO_KEYS = ContentKeys({})


class RequesterKeys:
    """A requester's key pair, from their receipt code (never stored)."""

    def __init__(self, selector: str, secret: str) -> None:
        self._pair = content.requester_key_pair(selector, secret)

    def __repr__(self) -> str:
        return "<RequesterKeys>"

    @property
    def public(self) -> bytes:
        return self._pair.public

    def open(self, instance: models.Model, name: str, sealed_key_field: str) -> str | None:
        """
        The field in clear, its key taken from `sealed_key_field` (the key sealed
        to the requester); None where it was not sealed to them.
        """
        field, value = _field(instance, name), getattr(instance, name)
        if isinstance(value, Unsealed):
            return str(value)
        if not isinstance(value, Sealed):
            return ""
        sealed_key = getattr(instance, sealed_key_field)
        if not sealed_key:
            return None
        key = content.open_sealed(self._pair.private, bytes(sealed_key), content.REQUESTER_INFO)
        return content.open_text(key, value, field.label, sealed_row(instance))
