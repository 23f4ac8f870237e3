"""
Mistakes in cases/access.py that mutation testing (dev.py mutants) showed no
listed test would notice: fingerprinting in passing without the active
organisation key must do nothing and say so.
"""

import pytest

from cases.access import fingerprint_backlog
from encryption import content
from encryption.access import ContentKeys
from intake.models import HelpRequest
from tests.content_keys import organisation_keys
from tests.factories import HelpRequestFactory

pytestmark = pytest.mark.django_db


def test_without_the_active_key_nothing_is_fingerprinted_and_none_is_counted():
    waiting = HelpRequestFactory(contact_fingerprint="")
    # A session holding some other key than the active one (signed in before a rotation).
    other = ContentKeys({waiting.pk + 1000: content.new_key_pair().private})

    assert fingerprint_backlog(other, 100) == 0
    assert HelpRequest.objects.get().contact_fingerprint == ""
    assert fingerprint_backlog(organisation_keys(), 100) == 1
    assert HelpRequest.objects.get().contact_fingerprint not in ("", "-")
