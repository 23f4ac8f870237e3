"""
Sealing what was stored before content keys (docs/encryption.md, Migration).

Values stored before then are plain text under the at-rest layer only
(`Unsealed`). `seal_unsealed` walks every model with content columns
(SealedTextField), batch by batch in primary-key order, and seals each row's
unsealed values under a new key of the row's own, wrapped under one envelope
per batch and bound to the row (version 2 of the stored formats): only the
organisation's public key is needed, and the site keeps running meanwhile
(old and new values read side by side). Fingerprints made under
ENCRYPTION_KEY (plain hex, no organisation key in them) are erased on the
way: they would let the server confirm a guessed contact. An interrupted run
resumes by skipping what is sealed already. Rows sealed before version 2 are
counted here, and bound to their row by encryption.binding.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction

from audit.services import record
from core.storage import request_rewrite
from encryption.content import is_bound
from encryption.fields import FingerprintField, Sealed, Unsealed, sealed_row, sealed_row_related
from encryption.sealing import Envelope, active_public_key, seal_texts, sealed_fields

DEFAULT_BATCH_SIZE = 1000
_ORGANISATION_FINGERPRINT = re.compile(r"^k\d+:")


@dataclass
class SealingCounts:
    rows: int = 0  # rows read
    sealed_rows: int = 0  # rows with a value sealed now
    values: int = 0  # values sealed now
    fingerprints_erased: int = 0
    unbound: int = 0  # rows sealed before version 2: not bound to their row yet


def content_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if sealed_fields(model)]


def seal_unsealed(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[str, SealingCounts], None] | None = None,
) -> SealingCounts:
    organisation = active_public_key()  # NoOrganisationKey before the bootstrap
    total = SealingCounts()
    for model in content_models():
        counts, last_pk = SealingCounts(), 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._base_manager.select_related(*sealed_row_related(model))
                    .select_for_update(of=("self",))
                    .filter(pk__gt=last_pk)
                    .order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                envelope = Envelope(organisation)
                changed = [
                    (row, fields) for row in rows if (fields := _seal_row(row, envelope, counts))
                ]
                if changed and not dry_run:
                    envelope.row.save(force_insert=True)
                    for row, fields in changed:
                        row.save(update_fields=fields)
            counts.rows += len(rows)
            last_pk = rows[-1].pk
            if progress:
                progress(model._meta.label, counts)
        for name in ("rows", "sealed_rows", "values", "fingerprints_erased", "unbound"):
            setattr(total, name, getattr(total, name) + getattr(counts, name))
    if not dry_run:
        record(
            "content_key.sealed_existing",
            rows=total.rows,
            sealed_rows=total.sealed_rows,
            values=total.values,
            fingerprints_erased=total.fingerprints_erased,
        )
        if total.sealed_rows:
            # The unsealed values linger in the tables' files until they are rewritten.
            request_rewrite(content_models(), "content_key.sealed_existing")
    return total


def _seal_row(row: models.Model, envelope: Envelope, counts: SealingCounts) -> list[str]:
    """Seal the row's unsealed values in place; the names of the fields it changed."""
    changed: list[str] = []
    if _unbound(row):
        counts.unbound += 1
    for group in sealed_fields(type(row)).values():
        values = {field.name: getattr(row, field.name) for field in group}
        if not any(isinstance(value, Unsealed) for value in values.values()):
            continue
        if any(isinstance(value, Sealed) for value in values.values()):
            # Never written by this code: a key column's values are sealed together.
            raise ValueError(
                f"{row._meta.label} {row.pk}: sealed and unsealed values under one key"
            )
        texts = {name: str(value) for name, value in values.items()}
        wrapped, sealed, _key = seal_texts(type(row), texts, envelope, sealed_row(row))
        setattr(row, group[0].key_field, wrapped)
        for name, value in sealed.items():
            setattr(row, name, value)
        changed += [group[0].key_field, *sealed]
        counts.values += sum(1 for text in texts.values() if text)
    for field in type(row)._meta.concrete_fields:
        if isinstance(field, FingerprintField):
            value = getattr(row, field.name)
            if value and value != "-" and not _ORGANISATION_FINGERPRINT.match(value):
                setattr(row, field.name, "")
                counts.fingerprints_erased += 1
                changed.append(field.name)
    if changed:
        counts.sealed_rows += 1
    return changed


def _unbound(row: models.Model) -> bool:
    """Whether the row holds content sealed before version 2 (bound to its field only)."""
    for key_field, group in sealed_fields(type(row)).items():
        wrapped = bytes(getattr(row, key_field) or b"")
        if wrapped and not is_bound(wrapped):
            return True
        if any(
            isinstance(value, Sealed) and not is_bound(value)
            for value in (getattr(row, field.name) for field in group)
        ):
            return True
    return False
