"""
Invisible characters (zero-width, bidi controls) neither hide a returning
requester nor make a case page show something other than what is stored.
"""

import pytest

from encryption.fingerprint import normalise_contact
from intake.models import HelpRequest
from tests.content_keys import fingerprint as contact_fingerprint
from tests.factories import CaseFactory
from tests.intake_helpers import submit
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db

ZWSP, ZWJ, BOM = "\u200b", "\u200d", "\ufeff"  # zero-width space and joiner, byte-order mark
RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"  # bidi override, isolate, their ends


@pytest.mark.parametrize(
    ("plain", "disguised"),
    [
        ("+7 900 123-45-67", f"+7{ZWSP}900{RLO}123-45-67{PDF}"),
        ("89001234567", f"{BOM}8900{ZWJ}1234567"),
        ("@ivan_petrov", f"@ivan{ZWSP}_petrov{LRI}{PDI}"),
        ("https://t.me/ivan_petrov", f"t.me/{RLO}ivan_petrov"),
    ],
)
def test_format_characters_do_not_change_the_fingerprint(plain, disguised):
    assert normalise_contact(disguised) == normalise_contact(plain)
    assert contact_fingerprint(disguised) == contact_fingerprint(plain)


def test_a_returning_requester_hiding_behind_zero_width_characters_is_recognised(client, alice):
    submit(client, contact="+7 (900) 123-45-67")
    submit(client, contact=f"+7{ZWSP}(900){RLO}123-45-67")
    first, second = HelpRequest.objects.order_by("pk").values_list("reference", flat=True)
    sign_in(client, alice)
    # Signing in leads to the queue, whose passing work fingerprints new requests.
    client.get("/staff/")

    page = client.get(f"/staff/cases/{second}/").content.decode()

    assert "This person wrote before" in page
    assert f'href="/staff/cases/{first}/"' in page


def test_the_case_page_shows_invisible_characters_and_isolates_what_was_written(client, alice):
    case = CaseFactory(
        request__contact=f"+7 900 {RLO}7654321",
        request__alias=f"Iv{ZWSP}an",
        request__narrative=f"Call {RLO}4321 please",
    )
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert RLO not in page and ZWSP not in page
    assert '<bdi>+7 900 <mark class="invisible-char"' in page
    assert ">U+202E</mark>7654321</bdi>" in page
    assert ">U+200B</mark>an</bdi>" in page
    assert 'class="narrative user-text"' in page and ">U+202E</mark>4321 please" in page
