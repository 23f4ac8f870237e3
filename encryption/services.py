"""
The life of the content keys (docs/encryption.md, "Lifecycle"): bootstrap,
caseworker key pairs, grants, revocation, password changes, resets, recovery,
rotation and shredding. Every step is audited; no step logs or returns a key
except the recovery key at bootstrap, which is shown once.

Callers hold the person's password or session keys; these functions never
ask for them, and never keep them beyond the call.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.db.models import Q

from audit.services import actor_name, record
from core.storage import request_rewrite
from encryption import content
from encryption.access import ContentKeys
from encryption.content import CannotOpen, KdfParams
from encryption.fields import FingerprintField
from encryption.models import (
    CaseworkerKey,
    ContentGrant,
    KeyEnvelope,
    OrganisationKey,
    RecoveryKey,
    RecoveryWrap,
)
from encryption.sealing import sealed_fields
from encryption.signals import shredding

# Where keys are wrapped: rewritten (core/storage.py) after their wrappings are deleted.
KEY_TABLES = (KeyEnvelope, ContentGrant, RecoveryWrap, RecoveryKey, CaseworkerKey, OrganisationKey)


class ContentKeyError(Exception):
    """A lifecycle step that cannot be done; the message is fit to show a person."""


def kdf_params() -> KdfParams:
    return KdfParams(**settings.CONTENT_KEY_KDF)


def has_organisation_key() -> bool:
    return OrganisationKey.objects.filter(state=OrganisationKey.State.ACTIVE).exists()


def _active_key() -> OrganisationKey | None:
    return OrganisationKey.objects.filter(state=OrganisationKey.State.ACTIVE).first()


# --- caseworker key pairs ------------------------------------------------------


def set_caseworker_key(user, password: str, private: bytes | None = None) -> CaseworkerKey:
    """Wrap the caseworker's private key (a new one unless given) under their password."""
    pair = content.key_pair_from(private) if private else content.new_key_pair()
    params = kdf_params()
    salt, wrapped = content.wrap_under_password(pair.private, password, user.pk, params)
    key, _created = CaseworkerKey.objects.update_or_create(
        user=user,
        defaults={
            "public_key": pair.public,
            "salt": salt,
            "wrapped_private": wrapped,
            "kdf_passes": params.passes,
            "kdf_memory_kib": params.memory_kib,
            "kdf_lanes": params.lanes,
        },
    )
    return key


def _caseworker_private(key: CaseworkerKey, password: str) -> bytes:
    params = KdfParams(key.kdf_passes, key.kdf_memory_kib, key.kdf_lanes)
    return content.unwrap_under_password(
        bytes(key.wrapped_private), password, bytes(key.salt), params, key.user_id
    )


def caseworker_key(user) -> CaseworkerKey | None:
    return CaseworkerKey.objects.filter(user=user).first()


def unlock(user, password: str) -> dict[int, bytes]:
    """
    The organisation private keys this caseworker's grants open, with their
    password: what a sign-in keeps for the session. Empty without a key pair
    or a grant.
    """
    key = caseworker_key(user)
    if key is None:
        return {}
    try:
        private = _caseworker_private(key, password)
    except CannotOpen:
        # The password was accepted but does not open the key: it was set
        # somewhere that did not re-wrap it. Access must be granted again.
        return {}
    opened = {}
    for grant in ContentGrant.objects.filter(user=user).exclude(
        organisation_key__state=OrganisationKey.State.RETIRED
    ):
        info = content.grant_info(grant.organisation_key_id, user.pk)
        opened[grant.organisation_key_id] = content.open_sealed(private, bytes(grant.sealed), info)
    return opened


def change_password(user, old_password: str, new_password: str) -> None:
    """Re-wrap the caseworker's private key under the new password (no key: nothing)."""
    key = caseworker_key(user)
    if key is None:
        return
    try:
        private = _caseworker_private(key, old_password)
    except CannotOpen:
        # The key no longer matches the password (e.g. changed in the Django
        # admin): it is of no use, so the account starts again without access.
        forget_caseworker(user, actor=user, reason="key_unreadable")
        return
    set_caseworker_key(user, new_password, private)
    record("content_key.rewrapped", actor=user, target=user.get_username())


def forget_caseworker(user, *, actor, reason: str) -> bool:
    """
    Drop the account's key pair and grants (an admin reset, a deactivation, a
    role change): it reads nothing until a caseworker grants access again.
    An account that held a live organisation key may have kept a copy of it,
    so, exactly as a revocation does, a rotation starts: what is sealed from
    now on is sealed to a key it never held. True if anything was dropped.
    """
    with transaction.atomic():
        held_live_key = (
            ContentGrant.objects.filter(user=user)
            .exclude(organisation_key__state=OrganisationKey.State.RETIRED)
            .exists()
        )
        grants, _ = ContentGrant.objects.filter(user=user).delete()
        keys, _ = CaseworkerKey.objects.filter(user=user).delete()
        if grants or keys:
            record(
                "content_key.forgotten",
                actor=actor,
                target=user.get_username(),
                reason=reason,
                grants=grants,
            )
        if held_live_key and _active_key() is not None:
            start_rotation(actor=actor, reason=reason)
    return bool(grants or keys)


# --- bootstrap, grants and recovery ----------------------------------------------


def bootstrap(user, password: str, *, actor) -> str:
    """
    Create the organisation key, this caseworker's key pair and grant, and the
    recovery key; return the recovery key, formatted, to be shown once.
    """
    with transaction.atomic():
        if (
            OrganisationKey.objects.select_for_update()
            .filter(state=OrganisationKey.State.ACTIVE)
            .exists()
        ):
            raise ContentKeyError("The organisation key exists already.")
        organisation = content.new_key_pair()
        org_key = OrganisationKey.objects.create(
            public_key=organisation.public, state=OrganisationKey.State.ACTIVE
        )
        set_caseworker_key(user, password)
        _grant(org_key.pk, organisation.private, user, granted_by=actor_name(actor))
        secret = content.new_recovery_secret()
        RecoveryKey.objects.all().delete()
        recovery = RecoveryKey.objects.create(public_key=content.recovery_key_pair(secret).public)
        _wrap_for_recovery(org_key.pk, organisation.private, recovery)
        record("content_key.bootstrap", actor=actor, target=user.get_username())
    return content.format_recovery_key(secret)


def _grant(org_key_id: int, private: bytes, user, *, granted_by: str) -> ContentGrant:
    public = bytes(CaseworkerKey.objects.values_list("public_key", flat=True).get(user=user))
    grant, _created = ContentGrant.objects.update_or_create(
        user=user,
        organisation_key_id=org_key_id,
        defaults={
            "sealed": content.seal_to(public, private, content.grant_info(org_key_id, user.pk)),
            "granted_by": granted_by,
        },
    )
    return grant


def _wrap_for_recovery(org_key_id: int, private: bytes, recovery: RecoveryKey) -> None:
    RecoveryWrap.objects.update_or_create(
        organisation_key_id=org_key_id,
        defaults={
            "recovery_key": recovery,
            "sealed": content.seal_to(
                bytes(recovery.public_key), private, content.recovery_info(org_key_id)
            ),
        },
    )


def live_key_ids() -> list[int]:
    """Organisation keys that still seal something: the active one and any being replaced."""
    return list(
        OrganisationKey.objects.exclude(state=OrganisationKey.State.RETIRED).values_list(
            "pk", flat=True
        )
    )


def grant_access(user, *, keys: ContentKeys, actor) -> int:
    """
    Give `user` (a caseworker with a key pair) every live organisation key the
    granting session holds. Only a caseworker whose key is unlocked can grant.
    """
    if caseworker_key(user) is None:
        raise ContentKeyError("This account has no key yet: its owner must sign in once.")
    held = keys.organisation_keys()
    live = [key_id for key_id in live_key_ids() if key_id in held]
    if not live:
        raise ContentKeyError("Your session holds no organisation key to grant.")
    with transaction.atomic():
        for key_id in live:
            _grant(key_id, held[key_id], user, granted_by=actor_name(actor))
        record("content_key.grant", actor=actor, target=user.get_username(), keys=len(live))
    return len(live)


def has_access(user) -> bool:
    return ContentGrant.objects.filter(
        user=user, organisation_key__state=OrganisationKey.State.ACTIVE
    ).exists()


@dataclass
class RecoveryResult:
    keys: int


def recover_access(user, recovery_key_text: str, *, actor) -> RecoveryResult:
    """Grant `user` every live organisation key that the recovery key opens."""
    if caseworker_key(user) is None:
        raise ContentKeyError(
            f"{user.get_username()} has no key yet: they must sign in once with their own "
            "password first."
        )
    secret = content.parse_recovery_key(recovery_key_text)
    pair = content.recovery_key_pair(secret)
    granted = 0
    with transaction.atomic():
        for wrap in RecoveryWrap.objects.select_related("recovery_key").exclude(
            organisation_key__state=OrganisationKey.State.RETIRED
        ):
            if bytes(wrap.recovery_key.public_key) != pair.public:
                continue
            key_id = wrap.organisation_key_id
            private = content.open_sealed(
                pair.private, bytes(wrap.sealed), content.recovery_info(key_id)
            )
            _grant(key_id, private, user, granted_by=actor_name(actor))
            granted += 1
        if not granted:
            raise ContentKeyError("This recovery key opens no organisation key here.")
        record("content_key.recover", actor=actor, target=user.get_username(), keys=granted)
    return RecoveryResult(keys=granted)


# --- rotation ------------------------------------------------------------------------


def start_rotation(*, actor, reason: str) -> OrganisationKey:
    """
    A new active organisation key: granted to every caseworker holding the
    current one (public keys suffice), wrapped for the recovery key. The old
    key is "being replaced" until its envelopes are re-sealed.
    """
    with transaction.atomic():
        current = (
            OrganisationKey.objects.select_for_update()
            .filter(state=OrganisationKey.State.ACTIVE)
            .first()
        )
        if current is None:
            raise ContentKeyError("There is no organisation key to replace.")
        current.state = OrganisationKey.State.RETIRING
        current.save(update_fields=["state"])
        fresh = content.new_key_pair()
        new_key = OrganisationKey.objects.create(
            public_key=fresh.public, state=OrganisationKey.State.ACTIVE
        )
        holders = list(
            get_user_model().objects.filter(content_grants__organisation_key=current).distinct()
        )
        for user in holders:
            _grant(new_key.pk, fresh.private, user, granted_by=actor_name(actor))
        recovery = RecoveryKey.objects.first()
        if recovery is not None:
            _wrap_for_recovery(new_key.pk, fresh.private, recovery)
        record(
            "content_key.rotation_started",
            actor=actor,
            old_key=current.pk,
            new_key=new_key.pk,
            reason=reason,
            granted=len(holders),
        )
    return new_key


def reseal_envelopes(keys: ContentKeys, *, limit: int) -> int:
    """
    Move up to `limit` envelopes of keys being replaced to the active key; the
    session must hold both. Returns how many moved. Safe to run concurrently.
    """
    active = _active_key()
    if active is None or active.pk not in keys.key_ids:
        return 0
    retiring = [
        key_id
        for key_id in OrganisationKey.objects.filter(
            state=OrganisationKey.State.RETIRING
        ).values_list("pk", flat=True)
        if key_id in keys.key_ids
    ]
    if not retiring:
        return 0
    active_public = bytes(active.public_key)
    moved = 0
    with transaction.atomic():
        envelopes = (
            KeyEnvelope.objects.select_for_update(skip_locked=True)
            .filter(organisation_key_id__in=retiring)
            .order_by("pk")[:limit]
        )
        for envelope in envelopes:
            old = envelope.organisation_key_id
            envelope_key = content.open_sealed(
                keys.private_key(old), bytes(envelope.sealed), content.envelope_info(old)
            )
            envelope.sealed = content.seal_to(
                active_public, envelope_key, content.envelope_info(active.pk)
            )
            envelope.organisation_key_id = active.pk
            envelope.save(update_fields=["sealed", "organisation_key"])
            moved += 1
    return moved


def retire_replaced_keys(*, actor) -> list[int]:
    """Keys being replaced that seal nothing any more: their grants and recovery wrap go."""
    retired = []
    with transaction.atomic():
        for key in OrganisationKey.objects.select_for_update().filter(
            state=OrganisationKey.State.RETIRING
        ):
            if key.envelopes.exists():
                continue
            key.grants.all().delete()
            RecoveryWrap.objects.filter(organisation_key=key).delete()
            key.state = OrganisationKey.State.RETIRED
            key.public_key = b""
            key.save(update_fields=["state", "public_key"])
            retired.append(key.pk)
        if retired:
            record("content_key.retired", actor=actor, keys=retired)
            request_rewrite(KEY_TABLES, "content_key.retired")
    return retired


def rotation_in_progress() -> bool:
    return OrganisationKey.objects.filter(state=OrganisationKey.State.RETIRING).exists()


# --- revocation -----------------------------------------------------------------------


def revoke_access(user, *, actor) -> OrganisationKey | None:
    """
    Remove the caseworker's grants and start a rotation, so that what is
    sealed from now on is sealed to a key they never held. Their sessions are
    the caller's to end (accounts.services.end_sessions_of).
    """
    with transaction.atomic():
        grants, _ = ContentGrant.objects.filter(user=user).delete()
        if not grants:
            raise ContentKeyError("This account has no access to revoke.")
        record("content_key.revoke", actor=actor, target=user.get_username(), grants=grants)
        return start_rotation(actor=actor, reason="revocation")


# --- shredding ----------------------------------------------------------------------------


@dataclass
class ShredCounts:
    grants: int = 0
    recovery_wraps: int = 0
    envelopes: int = 0
    caseworker_keys: int = 0
    organisation_keys: int = 0
    sessions: int = 0
    fingerprints: int = 0
    # Rows whose content predates content keys (never sealed: ENCRYPTION_KEY alone
    # reads it), erased, since no key will ever exist to seal them to.
    unsealed_rows: int = 0
    # What the other apps destroy (encryption.signals): detail key → count, or
    # None where it could not be destroyed.
    elsewhere: dict[str, int | None] = field(default_factory=dict)

    def audit_detail(self) -> dict[str, int | None]:
        own = {name: value for name, value in self.__dict__.items() if name != "elsewhere"}
        return {**own, **self.elsewhere}


def _elsewhere(*, dry_run: bool) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for _receiver, answer in shredding.send(sender=ShredCounts, dry_run=dry_run):
        found.update(answer or {})
    return found


def shred_counts() -> ShredCounts:
    """What a shred would destroy (the dry run)."""
    return ShredCounts(
        grants=ContentGrant.objects.count(),
        recovery_wraps=RecoveryWrap.objects.count(),
        envelopes=KeyEnvelope.objects.count(),
        caseworker_keys=CaseworkerKey.objects.count(),
        organisation_keys=OrganisationKey.objects.count(),
        sessions=Session.objects.count(),
        fingerprints=sum(
            model._base_manager.exclude(**{name: ""}).count()
            for model, name in _fingerprint_columns()
        ),
        unsealed_rows=sum(rows.count() for rows, _names in _unsealed_rows()),
        elsewhere=_elsewhere(dry_run=True),
    )


def _unsealed_rows() -> list[tuple[models.QuerySet, list[str]]]:
    """
    (rows, field names) of content stored before content keys and never
    sealed (`seal_content` not run): values without a wrapped key beside them,
    since sealing always writes the key with the values.
    """
    found = []
    for model in apps.get_models():
        for key_field, fields in sealed_fields(model).items():
            names = [field.name for field in fields]
            has_value = Q()
            for name in names:
                has_value |= Q(**{f"{name}__isnull": False})
            found.append((model._base_manager.filter(has_value, **{key_field: b""}), names))
    return found


def _fingerprint_columns() -> list[tuple[type[models.Model], str]]:
    """(model, field) of every keyed contact fingerprint (FingerprintField) installed."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, FingerprintField)
    ]


def shred(*, actor) -> ShredCounts:
    """
    Destroy every way to the content: grants, recovery, envelopes, key pairs,
    sessions; fingerprints are erased, and so is content never sealed (from
    before content keys, which ENCRYPTION_KEY alone reads); and whatever the
    other apps keep that a receipt code, the server or the cache could still
    open (encryption.signals: the requester's copies of message keys, receipt
    hashes and their HMAC key, reply templates, flood digests, the bot's
    dialogues). States, dates to the hour, the audit log and the statistics stay.
    """
    with transaction.atomic():
        counts = ShredCounts()
        for model, name in _fingerprint_columns():
            counts.fingerprints += model._base_manager.exclude(**{name: ""}).update(**{name: ""})
        counts.sessions, _ = Session.objects.all().delete()
        counts.grants, _ = ContentGrant.objects.all().delete()
        counts.recovery_wraps, _ = RecoveryWrap.objects.all().delete()
        RecoveryKey.objects.all().delete()
        counts.envelopes, _ = KeyEnvelope.objects.all().delete()
        counts.caseworker_keys, _ = CaseworkerKey.objects.all().delete()
        counts.organisation_keys, _ = OrganisationKey.objects.all().delete()
        for rows, names in _unsealed_rows():
            counts.unsealed_rows += rows.update(**dict.fromkeys(names))
        counts.elsewhere = _elsewhere(dry_run=False)
        record("content_key.shred", actor=actor, **counts.audit_detail())
        # The deleted wrappings linger in the tables' files until they are rewritten.
        request_rewrite(KEY_TABLES, "content_key.shred")
        if counts.unsealed_rows:
            request_rewrite(
                [model for model in apps.get_models() if sealed_fields(model)], "content_key.shred"
            )
    return counts
