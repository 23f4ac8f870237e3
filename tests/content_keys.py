"""
The organisation key of the test installation.

Every test that touches the database starts with an organisation key, as an
installation does once its first caseworker exists (tests/conftest.py). Its
private half is kept here, in the test process only, so that tests can grant
it to their caseworkers and check what the code under test sealed, the way a
caseworker's session would open it.
"""

from encryption import content
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.fingerprint import current_fingerprint
from encryption.models import ContentGrant, OrganisationKey

_private: dict[int, bytes] = {}


def start() -> int:
    """A fresh active organisation key for this test."""
    _private.clear()
    pair = content.new_key_pair()
    key = OrganisationKey.objects.create(public_key=pair.public, state=OrganisationKey.State.ACTIVE)
    _private[key.pk] = pair.private
    return key.pk


def forget() -> None:
    _private.clear()


def organisation_keys() -> ContentKeys:
    """What a caseworker with access holds: every organisation key of this test."""
    return ContentKeys(dict(_private))


def grant(user, password: str) -> None:
    """Give the caseworker a key pair under `password` and access to the content."""
    key_services.set_caseworker_key(user, password)
    public = bytes(user.content_key_pair.public_key)
    for key_id, private in _private.items():
        ContentGrant.objects.create(
            user=user,
            organisation_key_id=key_id,
            sealed=content.seal_to(public, private, content.grant_info(key_id, user.pk)),
            granted_by="tests",
        )


def opened(instance, *names: str) -> dict[str, str]:
    """The instance's sealed fields as a caseworker with access reads them."""
    return organisation_keys().open(instance, *names)


def fingerprint(contact: str) -> str:
    """The contact's fingerprint as a caseworker's session stores it."""
    return current_fingerprint(organisation_keys(), contact)
