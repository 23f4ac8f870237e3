"""
Binding content sealed before version 2 to its row (docs/encryption.md, Stored
formats and Migration).

A version-1 value names its field but not its row, so someone who can write
the database could copy a request's sealed columns, with its wrapped key, onto
another case and have it open there. Version 2 also names the row (the
request's reference). Going from one to the other means opening the value, so
it takes the organisation private key: a Django migration never has it. It
happens instead

* in passing, whenever a caseworker with access opens a case
  (cases.access.open_case), for that request, its notes and its messages;
* for everything, by `manage.py seal_content --bind USERNAME` (the password
  of a caseworker with access is asked), batch by batch while the site runs.

The key itself does not change: it is wrapped again, bound to the row, under
the same envelope, and the values are sealed again under it. So nothing else
(the requester's copy of a message key, the envelopes) has to change with it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction

from audit.services import record
from encryption import content
from encryption.access import ContentKeys
from encryption.content import CannotOpen
from encryption.fields import Sealed, sealed_row, sealed_row_related
from encryption.sealing import sealed_fields

DEFAULT_BATCH_SIZE = 1000


def unbound_changes(keys: ContentKeys, instance: models.Model) -> dict[str, object]:
    """
    The columns to store so that this instance's content is bound to its row:
    each key column still in version 1 (or with a version-1 value under it)
    wrapped again and its values sealed again, in version 2. {} when there is
    nothing to do. Raises CannotOpen when this session's keys cannot open it.
    """
    changes: dict[str, object] = {}
    row = sealed_row(instance)
    for key_field, fields in sealed_fields(type(instance)).items():
        wrapped = bytes(getattr(instance, key_field) or b"")
        values = {f.name: getattr(instance, f.name) for f in fields}
        sealed = {name: value for name, value in values.items() if isinstance(value, Sealed)}
        if not wrapped or (
            content.is_bound(wrapped) and all(content.is_bound(v) for v in sealed.values())
        ):
            continue
        purpose = fields[0].key_purpose
        key = keys.unwrap(wrapped, purpose, row)
        envelope_id = content.envelope_of(wrapped)
        changes[key_field] = content.wrap_key(
            envelope_id, keys.envelope_key(envelope_id), key, purpose, row
        )
        sealer = content.ValueSealer(key)
        labels = {f.name: f.label for f in fields}
        for name, value in sealed.items():
            text = content.open_text(key, value, labels[name], row)
            changes[name] = Sealed(sealer.seal_text(text, labels[name], row))
    return changes


def bind(keys: ContentKeys, instance: models.Model) -> bool:
    """
    Store the instance's content bound to its row, if it is not yet. Only a row
    whose key columns are still as read is changed (a concurrent edit wins).
    Returns whether the row changed.
    """
    changes = unbound_changes(keys, instance)
    if not changes:
        return False
    unchanged = {
        name: getattr(instance, name) for name in sealed_fields(type(instance)) if name in changes
    }
    updated = type(instance)._base_manager.filter(pk=instance.pk, **unchanged).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(instance, name, value)
    return bool(updated)


@dataclass
class BindingCounts:
    rows: int = 0  # rows read
    bound: int = 0  # rows bound to their row now
    closed: int = 0  # rows these keys do not open: left as they are


def bind_all(
    keys: ContentKeys,
    models_to_bind: list[type[models.Model]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[str, BindingCounts], None] | None = None,
) -> BindingCounts:
    """
    Every row of these models bound to its row, batch by batch in primary-key
    order; safe to interrupt and run again (bound rows are skipped). A row
    these keys do not open (sealed to a key they lack, damaged, or moved from
    another request) is counted and left as it is.
    """
    total = BindingCounts()
    for model in models_to_bind:
        counts, last_pk = BindingCounts(), 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._base_manager.select_related(*sealed_row_related(model))
                    .filter(pk__gt=last_pk)
                    .order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                keys.preload(*((rows, key_field) for key_field in sealed_fields(model)))
                for row in rows:
                    try:
                        changed = unbound_changes(keys, row) if dry_run else bind(keys, row)
                    except CannotOpen:
                        counts.closed += 1
                        continue
                    counts.bound += bool(changed)
            counts.rows += len(rows)
            last_pk = rows[-1].pk
            if progress:
                progress(model._meta.label, counts)
        total.rows += counts.rows
        total.bound += counts.bound
        total.closed += counts.closed
    if not dry_run:
        record("content_key.bound_to_rows", rows=total.rows, bound=total.bound, closed=total.closed)
    return total
