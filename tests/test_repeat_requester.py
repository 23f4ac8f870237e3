"""A repeat requester is recognised by their contact's keyed fingerprint."""

import pytest

from intake.models import HelpRequest
from tests.intake_helpers import submit
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def references_in_order() -> list[str]:
    return list(
        HelpRequest.objects.order_by("received_at", "pk").values_list("reference", flat=True)
    )


def test_the_new_case_links_to_the_earlier_one(client, alice):
    submit(client, contact="+7 (900) 123-45-67")
    submit(client, contact="89001234567")
    first, second = references_in_order()
    sign_in(client, alice)
    # Signing in leads to the queue, whose passing work fingerprints new requests.
    client.get("/staff/")

    page = client.get(f"/staff/cases/{second}/").content.decode()

    assert "This person wrote before" in page
    assert f'href="/staff/cases/{first}/"' in page
    assert "This person wrote before" not in client.get(f"/staff/cases/{first}/").content.decode()


def test_no_contact_means_no_match(client, alice):
    submit(client, contact="")
    submit(client, contact="")
    _first, second = references_in_order()
    sign_in(client, alice)
    client.get("/staff/")

    assert "This person wrote before" not in client.get(f"/staff/cases/{second}/").content.decode()


def test_spaces_typed_inside_a_handle_do_not_make_a_new_person(client, alice):
    """A handle or an address holds no white space: one typed inside is a slip."""
    submit(client, contact="@ivan petrov")
    submit(client, contact="@ivanpetrov")
    submit(client, contact="@ivanpetrova")  # another person: one letter more
    first, second, third = references_in_order()
    sign_in(client, alice)
    client.get("/staff/")

    assert f'href="/staff/cases/{first}/"' in client.get(f"/staff/cases/{second}/").content.decode()
    assert "This person wrote before" not in client.get(f"/staff/cases/{third}/").content.decode()
    stored = dict(HelpRequest.objects.values_list("reference", "contact_fingerprint"))
    assert stored[first] == stored[second] != stored[third]
