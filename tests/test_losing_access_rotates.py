"""
Every way a caseworker loses access replaces the organisation key, exactly as
a revocation does (issue 21, item 6): a deactivation, a role change, an admin
reset of the authenticator and an admin-issued one-time password. Whoever
held the old key (and may have kept a copy) cannot open what is sealed from
then on.
"""

import pytest
from django.test import Client

from audit.models import AuditEntry
from encryption.models import ContentGrant, KeyEnvelope, OrganisationKey
from intake.models import HelpRequest
from intake.services import submit_request
from tests.staffing import confirmed_post, sign_in
from tests.test_accessibility import request_record

pytestmark = pytest.mark.django_db

LOSSES = {
    "deactivated": ("deactivate/", {}),
    "role_removed": ("role/", {"role": "coordinator"}),
    "password_issued": ("reset-device/", {}),
    "issued_password": ("new-password/", {}),
}


def envelope_key_of(help_request: HelpRequest) -> int:
    envelope_id = int.from_bytes(bytes(help_request.content_key)[1:9], "big")
    return KeyEnvelope.objects.get(pk=envelope_id).organisation_key_id


@pytest.mark.parametrize("loss", LOSSES)
def test_losing_access_replaces_the_organisation_key(alice, bob, dave, loss):
    old = OrganisationKey.objects.get(state="active")
    admin = Client()
    sign_in(admin, dave)
    path, data = LOSSES[loss]

    confirmed_post(admin, f"/staff/accounts/{bob.user.pk}/{path}", data)

    new = OrganisationKey.objects.get(state="active")
    assert new.pk != old.pk
    assert OrganisationKey.objects.get(pk=old.pk).state == "retiring"
    assert not ContentGrant.objects.filter(user=bob.user).exists()
    # alice keeps working: she holds the new key, bob never did.
    assert ContentGrant.objects.filter(user=alice.user, organisation_key=new).exists()
    started = AuditEntry.objects.get(action="content_key.rotation_started")
    assert started.actor == "dave" and started.detail["new_key"] == new.pk
    later = submit_request(request_record(narrative="Sealed after bob lost access")).help_request
    assert envelope_key_of(later) == new.pk


def test_an_account_without_access_changes_no_key(alice, dave):
    from tests.staffing import make_staff

    waiting = make_staff("nina", "caseworker", with_access=False)
    old = OrganisationKey.objects.get(state="active")
    admin = Client()
    sign_in(admin, dave)

    confirmed_post(admin, f"/staff/accounts/{waiting.user.pk}/deactivate/")

    assert OrganisationKey.objects.get(state="active").pk == old.pk
    assert not AuditEntry.objects.filter(action="content_key.rotation_started").exists()
