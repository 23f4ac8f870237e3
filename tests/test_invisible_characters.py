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


# --- blank letters, separators and stacked marks (fourth review, item 6) ----------------

BLANKS = ["\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\u2028", "\u2029"]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_letter_or_separator_does_not_change_the_fingerprint(blank):
    assert normalise_contact(f"@ivan{blank}_petrov{blank}") == normalise_contact("@ivan_petrov")
    assert contact_fingerprint(f"{blank}+7 900 123-45-67") == contact_fingerprint("89001234567")


def test_stacked_combining_marks_do_not_change_the_fingerprint():
    zalgo = "@iv" + "\u0301" * 300 + "an"

    assert normalise_contact(zalgo) == normalise_contact("@ivan")
    # A letter written with its accent as one character is still that letter.
    assert normalise_contact("@йорик") == normalise_contact("@и\u0306орик")


def test_the_case_page_marks_blank_letters_and_separators(client, alice):
    case = CaseFactory(
        request__contact="\u3164\u3164",
        request__alias="Iv\u2800an",
        request__narrative="one line\u2028and another",
    )
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    for blank in ("\u3164", "\u2800", "\u2028"):
        assert blank not in page
    assert '<bdi><mark class="invisible-char"' in page and "U+3164" in page
    assert "U+2800" in page and "U+2028" in page


def test_hundreds_of_marks_on_one_letter_are_counted_not_drawn(client, alice):
    case = CaseFactory(request__narrative="Help" + "\u0336" * 300 + " me")
    sign_in(client, alice)

    page = client.get(f"/staff/cases/{case.request.reference}/").content.decode()

    assert page.count("\u0336") == 3
    assert ">+297</mark>" in page
    assert "297 more combining marks on this letter, not drawn" in page


def test_what_a_person_wrote_cannot_paint_outside_its_box():
    from pathlib import Path

    css = (Path(__file__).resolve().parent.parent / "static/css/site.css").read_text()

    assert ".user-text, bdi { unicode-bidi: isolate; contain: paint; }" in css
