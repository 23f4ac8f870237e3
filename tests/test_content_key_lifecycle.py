"""The life of the content keys (encryption/services.py), through its services."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from encryption import content, services
from encryption.access import ContentKeys
from encryption.models import (
    CaseworkerKey,
    ContentGrant,
    KeyEnvelope,
    OrganisationKey,
    RecoveryWrap,
)
from encryption.sealing import Envelope, NoOrganisationKey, active_public_key

pytestmark = pytest.mark.django_db
PASSWORD = "a long and correct test password"


@pytest.fixture(autouse=True)
def no_organisation_key_yet():
    """These tests start from an installation without an organisation key."""
    services.shred(actor="test")


def person(name: str):
    return get_user_model().objects.create_user(username=name, password=PASSWORD)


def envelope_opens(keys: ContentKeys, envelope: KeyEnvelope) -> bool:
    try:
        keys.envelope_key(envelope.pk)
    except content.CannotOpen:
        return False
    return True


def stored_envelope() -> KeyEnvelope:
    envelope = Envelope()
    envelope.row.save()
    return envelope.row


def test_nothing_is_sealed_before_the_bootstrap():
    with pytest.raises(NoOrganisationKey):
        active_public_key()


def test_the_bootstrap_gives_the_first_caseworker_access_and_a_recovery_key():
    alice = person("alice")
    recovery = services.bootstrap(alice, PASSWORD, actor="manage.py create_staff")
    assert recovery.startswith("TROPA-RK1-")
    keys = ContentKeys(services.unlock(alice, PASSWORD))
    assert keys and envelope_opens(keys, stored_envelope())
    assert AuditEntry.objects.filter(action="content_key.bootstrap", target="alice").exists()
    with pytest.raises(services.ContentKeyError):
        services.bootstrap(person("eve"), PASSWORD, actor="again")


def test_a_wrong_password_unlocks_nothing():
    alice = person("alice")
    services.bootstrap(alice, PASSWORD, actor="test")
    assert services.unlock(alice, "not the password") == {}


def test_a_new_caseworker_reads_only_after_a_grant():
    alice, bob = person("alice"), person("bob")
    services.bootstrap(alice, PASSWORD, actor="test")
    services.set_caseworker_key(bob, PASSWORD)
    envelope = stored_envelope()
    assert not ContentKeys(services.unlock(bob, PASSWORD))

    services.grant_access(bob, keys=ContentKeys(services.unlock(alice, PASSWORD)), actor=alice)

    assert envelope_opens(ContentKeys(services.unlock(bob, PASSWORD)), envelope)
    assert AuditEntry.objects.filter(action="content_key.grant", target="bob").exists()


def test_nobody_without_keys_can_grant():
    alice, dave = person("alice"), person("dave")
    services.bootstrap(alice, PASSWORD, actor="test")
    services.set_caseworker_key(dave, PASSWORD)
    with pytest.raises(services.ContentKeyError):
        services.grant_access(dave, keys=ContentKeys({}), actor=dave)
    assert not ContentGrant.objects.filter(user=dave).exists()


def test_a_password_change_rewraps_the_key():
    alice = person("alice")
    services.bootstrap(alice, PASSWORD, actor="test")
    services.change_password(alice, PASSWORD, "another long password")
    assert services.unlock(alice, PASSWORD) == {}
    assert services.unlock(alice, "another long password")


def test_forgetting_a_caseworker_removes_their_access():
    alice, bob = person("alice"), person("bob")
    services.bootstrap(alice, PASSWORD, actor="test")
    services.set_caseworker_key(bob, PASSWORD)
    services.grant_access(bob, keys=ContentKeys(services.unlock(alice, PASSWORD)), actor=alice)
    services.forget_caseworker(bob, actor="dave", reason="device_reset")
    assert not CaseworkerKey.objects.filter(user=bob).exists()
    assert services.unlock(bob, PASSWORD) == {}


def test_the_recovery_key_restores_access():
    alice, bob = person("alice"), person("bob")
    recovery = services.bootstrap(alice, PASSWORD, actor="test")
    envelope = stored_envelope()
    services.set_caseworker_key(bob, PASSWORD)

    services.recover_access(bob, recovery.lower(), actor="manage.py recover_access")

    assert envelope_opens(ContentKeys(services.unlock(bob, PASSWORD)), envelope)
    wrong = content.format_recovery_key(content.new_recovery_secret())
    with pytest.raises(services.ContentKeyError):
        services.recover_access(bob, wrong, actor="test")


def test_a_rotation_moves_every_envelope_to_a_new_key():
    alice, bob = person("alice"), person("bob")
    recovery = services.bootstrap(alice, PASSWORD, actor="test")
    services.set_caseworker_key(bob, PASSWORD)
    services.grant_access(bob, keys=ContentKeys(services.unlock(alice, PASSWORD)), actor=alice)
    old_envelopes = [stored_envelope() for _ in range(5)]
    old_key = OrganisationKey.objects.get(state="active")

    new_key = services.start_rotation(actor=alice, reason="test")
    assert active_public_key().id == new_key.pk
    # Alice's session after the rotation holds both keys and re-seals in batches.
    keys = ContentKeys(services.unlock(alice, PASSWORD))
    assert set(keys.key_ids) == {old_key.pk, new_key.pk}
    assert services.reseal_envelopes(keys, limit=3) == 3
    assert services.reseal_envelopes(keys, limit=3) == 2
    assert services.retire_replaced_keys(actor=alice) == [old_key.pk]

    for user in (alice, bob):
        keys = ContentKeys(services.unlock(user, PASSWORD))
        assert keys.key_ids == [new_key.pk]
        assert all(envelope_opens(keys, e) for e in old_envelopes)
    assert not RecoveryWrap.objects.filter(organisation_key=old_key).exists()
    carol = person("carol")
    services.set_caseworker_key(carol, PASSWORD)
    services.recover_access(carol, recovery, actor="test")
    assert envelope_opens(ContentKeys(services.unlock(carol, PASSWORD)), old_envelopes[0])


def test_a_revocation_starts_a_rotation_the_revoked_never_holds():
    alice, bob = person("alice"), person("bob")
    services.bootstrap(alice, PASSWORD, actor="test")
    services.set_caseworker_key(bob, PASSWORD)
    services.grant_access(bob, keys=ContentKeys(services.unlock(alice, PASSWORD)), actor=alice)
    bobs_old_keys = services.unlock(bob, PASSWORD)

    services.revoke_access(bob, actor=alice)

    assert services.unlock(bob, PASSWORD) == {}
    newer = stored_envelope()
    assert not envelope_opens(ContentKeys(bobs_old_keys), newer)
    assert envelope_opens(ContentKeys(services.unlock(alice, PASSWORD)), newer)


def test_shredding_leaves_nothing_that_opens():
    alice = person("alice")
    recovery = services.bootstrap(alice, PASSWORD, actor="test")
    stored_envelope()
    before = services.shred_counts()
    assert before.envelopes == 1 and before.grants == 1 and before.recovery_wraps == 1

    services.shred(actor="manage.py shred_content_keys")

    assert services.unlock(alice, PASSWORD) == {}
    assert not KeyEnvelope.objects.exists() and not OrganisationKey.objects.exists()
    services.set_caseworker_key(alice, PASSWORD)
    with pytest.raises(services.ContentKeyError):
        services.recover_access(alice, recovery, actor="test")
