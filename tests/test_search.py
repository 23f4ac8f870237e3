"""
Search: a whole stored reference, however it is typed (imported ones in their
own format too), opens its case; anything else is answered in the POST itself:
the references beginning like it and the requests from it as a contact. Only
a whole stored reference reaches an address or an audit target; a contact
leaves no trace of what was typed in an address, a log or the audit log.
"""

import importlib
import io
import logging
import re

import pytest
from django.core.management import call_command
from django.views.debug import SafeExceptionReporterFilter
from hypothesis import given
from hypothesis import strategies as st

from audit.models import AuditEntry
from intake.models import HelpRequest
from intake.references import ALPHABET, reference_prefix
from tests.factories import CaseFactory, HelpRequestFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db

CONTACT = "@returning_soldier"
BODY = f"[{ALPHABET}]"


def case_with(reference: str, **extra):
    return CaseFactory(request=HelpRequestFactory(reference=reference, **extra))


def searches():
    return AuditEntry.objects.filter(action__startswith="search.")


def shown(response) -> list[str]:
    return [row["request__reference"] for row in response.context["reference_results"]]


@pytest.fixture
def signed_in(client, alice):
    sign_in(client, alice)
    return client


@pytest.mark.parametrize(
    "typed",
    ["GL-XP3D-Q9TX", "gl-xp3d-q9tx", "GLXP3DQ9TX", "xp3d q9tx", " gl–xp3d–q9tx ", "GL-XP3D-Q9TX…"],
)
def test_a_whole_reference_however_typed_opens_its_case(signed_in, typed):
    case_with("GL-XP3D-Q9TX")
    case_with("GL-XP3D-AAAA")

    response = signed_in.get("/staff/search/", {"q": typed})

    assert response.status_code == 302
    assert response["Location"] == "/staff/cases/GL-XP3D-Q9TX/"


def test_the_beginning_of_a_reference_lists_its_matches_newest_first(signed_in):
    older = case_with("GL-XP3D-Q9TX")
    newer = case_with("GL-XP3D-AAAA")
    case_with("GL-ZZZZ-AAAA")

    response = signed_in.post("/staff/search/", {"q": "glxp3d"})

    assert response.status_code == 200
    assert shown(response) == [newer.request.reference, older.request.reference]


@pytest.mark.parametrize("typed", ["gl-xp3d", "GLXP3D…", "xp3d", "GL-ХР3D"])  # last: Cyrillic Х, Р
def test_the_beginning_of_a_reference_with_one_match_is_listed_not_opened(signed_in, typed):
    case_with("GL-XP3D-Q9TX")
    case_with("GL-ZZZZ-AAAA")

    response = signed_in.post("/staff/search/", {"q": typed})

    assert response.status_code == 200
    assert shown(response) == ["GL-XP3D-Q9TX"]


def test_letters_read_for_digits_are_forgiven(signed_in):
    case_with("GL-10AB-0000")

    response = signed_in.get("/staff/search/", {"q": "gl-ioab-oooo"})

    assert response["Location"] == "/staff/cases/GL-10AB-0000/"


def test_many_matches_show_the_newest_fifty_and_ask_for_more(signed_in):
    for n in range(55):
        case_with(f"GL-ABC{n // 32}-{'0123456789ABCDEFGHJKMNPQRSTVWXYZ'[n % 32]}000")

    response = signed_in.post("/staff/search/", {"q": "GL-ABC"})

    assert len(shown(response)) == 50
    assert "Only the newest 50 are shown: type more of the reference." in (
        response.content.decode()
    )


def test_a_search_finds_cases_in_every_state(signed_in):
    case = case_with("GL-C10S-ED00")
    case.state, case.outcome = "closed", "referred"
    case.save()

    response = signed_in.post("/staff/search/", {"q": "gl-c10s-ed00"})

    assert response["Location"] == "/staff/cases/GL-C10S-ED00/"


def test_too_short_a_beginning_asks_for_more(signed_in):
    case_with("GL-XP3D-Q9TX")

    response = signed_in.post("/staff/search/", {"q": "gl-x"})

    assert "Type at least 3 characters" in response.content.decode()
    assert "reference_results" not in response.context


def test_what_is_not_a_whole_reference_is_dropped_from_the_address(signed_in):
    case_with("GL-XP3D-Q9TX")

    for typed in ["@someone_typed_here", "gl-xp3d", "petrov"]:
        response = signed_in.get("/staff/search/", {"q": typed}, follow=True)

        assert response.redirect_chain == [("/staff/search/", 302)]
        body = response.content.decode()
        assert "That is not a reference" in body
        assert "someone_typed_here" not in body
    assert set(searches().values_list("target", flat=True)) <= {""}


def test_both_search_forms_post_so_nothing_typed_goes_into_an_address_unread(signed_in):
    body = signed_in.get("/staff/search/").content.decode()

    assert body.count('method="post" action="/staff/search/"') == 3  # the box, and the two forms


def test_a_mistyped_reference_is_searched_here_and_not_repeated(signed_in):
    response = signed_in.post("/staff/search/", {"q": "GL-XP3U"})

    assert response.status_code == 200
    assert shown(response) == []
    assert "XP3U" not in response.content.decode()


def test_a_reference_search_is_audited_with_its_count_and_without_what_was_typed(signed_in):
    case_with("GL-XP3D-Q9TX")
    case_with("GL-XP3D-AAAA")

    signed_in.post("/staff/search/", {"q": "gl-xp3d"})

    entry = AuditEntry.objects.get(action="search.reference")
    assert (entry.actor, entry.target, entry.detail) == ("alice", "", {"results": 2})


def test_a_whole_reference_opened_from_the_box_is_audited_with_it(signed_in):
    case_with("GL-XP3D-Q9TX")

    response = signed_in.post("/staff/search/", {"q": "xp3d q9tx"})

    assert response["Location"] == "/staff/cases/GL-XP3D-Q9TX/"
    entry = AuditEntry.objects.get(action="search.reference")
    assert (entry.target, entry.detail) == ("GL-XP3D-Q9TX", {"results": 1})


def test_the_box_on_every_page_answers_a_beginning_in_the_same_response(signed_in):
    case_with("GL-XP3D-Q9TX")
    case_with("GL-XP3D-AAAA")
    page = signed_in.get("/staff/").content.decode()
    assert 'name="q"' in page and 'action="/staff/search/"' in page

    response = signed_in.post("/staff/search/", {"q": "gl-xp3d"})

    assert response.status_code == 200
    assert len(shown(response)) == 2


# --- a handle is never taken for a reference (third review, item 4) ---------------------


@pytest.mark.parametrize("typed", ["petrov", "Petrov", "@petrov", "petrov_1990", "+7 912 345"])
def test_a_handle_typed_in_the_box_never_reaches_an_address_or_an_audit_target(signed_in, typed):
    case_with("GL-PETR-0V12")  # what "petrov" once became the start of
    HelpRequestFactory(contact="@petrov")

    response = signed_in.post("/staff/search/", {"q": typed}, follow=True)

    assert response.redirect_chain == []
    assert response.status_code == 200
    assert "PETR" not in response.wsgi_request.get_full_path().upper()
    assert set(searches().values_list("target", flat=True)) <= {""}
    for row in AuditEntry.objects.values("target", "detail"):
        assert "petr" not in str(row).lower()


def test_a_handle_is_searched_as_references_and_contacts_together(signed_in):
    earlier = HelpRequestFactory(contact="@petrov")
    case_with("GL-PETR-0V12")

    response = signed_in.post("/staff/search/", {"q": "petrov"})

    assert [item["reference"] for item in response.context["contact_results"]] == [
        earlier.reference
    ]
    assert shown(response) == ["GL-PETR-0V12"]  # listed, not opened
    assert "petrov" not in response.content.decode().lower()


@pytest.mark.parametrize("typed", ["HX-0019991", "hx 0019991", "hx0019991", "НХ-OO19991"])
def test_an_imported_reference_in_its_own_format_is_found_however_typed(signed_in, typed, tmp_path):
    csv_file = tmp_path / "old.csv"
    csv_file.write_text(
        "reference,received_at,channel,category,service_status,location,urgency,"
        "legal_articles,state,outcome,resolved_at,contact,narrative\n"
        "HX-0019991,2023-01-05,email,desertion,mobilised,abroad,normal,338,new,,,,\n"
        "HX-0019992,2023-01-06,email,desertion,mobilised,abroad,normal,338,new,,,,\n",
        encoding="utf-8",
    )
    call_command("import_requests", str(csv_file), stdout=io.StringIO())

    posted = signed_in.post("/staff/search/", {"q": typed})
    linked = signed_in.get("/staff/search/", {"q": typed})

    assert posted["Location"] == linked["Location"] == "/staff/cases/HX-0019991/"
    assert shown(signed_in.post("/staff/search/", {"q": "hx 001999"})) == [
        "HX-0019992",
        "HX-0019991",
    ]


# --- by contact ------------------------------------------------------------------------


def test_a_contact_finds_every_request_from_it(signed_in):
    first = HelpRequestFactory(contact=CONTACT)
    second = HelpRequestFactory(contact="@Returning_Soldier ")
    CaseFactory(request=second)
    HelpRequestFactory(contact="@someone_else")

    response = signed_in.post("/staff/search/", {"contact": "t.me/returning_soldier"})

    assert response.status_code == 200
    found = [item["reference"] for item in response.context["contact_results"]]
    assert found == [second.reference, first.reference]


def test_a_contact_typed_in_the_box_on_every_page_is_searched_in_the_same_answer(signed_in):
    earlier = HelpRequestFactory(contact="+7 912 345-67-89")

    response = signed_in.post("/staff/search/", {"q": "89123456789"})

    assert response.status_code == 200
    assert [item["reference"] for item in response.context["contact_results"]] == [
        earlier.reference
    ]


def test_a_short_number_in_the_box_is_taken_for_a_contact_not_put_in_an_address(signed_in):
    response = signed_in.post("/staff/search/", {"q": "1234567"})

    assert response.status_code == 200
    assert response.context["contact_searched"]


def test_a_contact_search_leaves_the_contact_in_no_log_address_or_audit_entry(signed_in, caplog):
    HelpRequestFactory(contact=CONTACT)

    with caplog.at_level(logging.DEBUG):
        response = signed_in.post("/staff/search/", {"contact": CONTACT}, follow=True)

    assert response.redirect_chain == []
    assert CONTACT not in response.wsgi_request.get_full_path()
    assert "returning_soldier" not in caplog.text
    assert "returning_soldier" not in response.content.decode()  # not even echoed back
    entry = AuditEntry.objects.get(action="search.contact")
    assert (entry.target, entry.detail) == ("", {"results": 1})
    for row in AuditEntry.objects.values("target", "detail"):
        assert "returning_soldier" not in str(row)


def test_an_error_report_would_hide_the_typed_contact(signed_in):
    response = signed_in.post("/staff/search/", {"contact": CONTACT})

    reported = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert reported["contact"] != CONTACT and "returning" not in reported["contact"]


def test_a_contact_search_says_so_when_nothing_is_found(signed_in):
    response = signed_in.post("/staff/search/", {"contact": "@nobody_wrote"})

    assert "No request from this contact." in response.content.decode()


def test_without_the_content_key_a_contact_search_is_refused(client):
    newcomer = make_staff("nina", "caseworker", with_access=False)
    HelpRequestFactory(contact=CONTACT)
    sign_in(client, newcomer)

    response = client.post("/staff/search/", {"contact": CONTACT})

    assert response.status_code == 403
    assert "no access to the organisation key" in response.content.decode()
    assert "contact_results" not in response.context
    assert not AuditEntry.objects.filter(action="search.contact").exists()
    assert AuditEntry.objects.filter(action="case.refused", actor="nina").exists()


@pytest.mark.parametrize("person", ["carol", "dave"])
def test_coordinators_and_admins_cannot_search(client, person, request):
    case_with("GL-XP3D-Q9TX")
    HelpRequestFactory(contact=CONTACT)
    sign_in(client, request.getfixturevalue(person))

    assert client.get("/staff/search/", {"q": "GL-XP3D-Q9TX"}).status_code == 403
    assert client.post("/staff/search/", {"contact": CONTACT}).status_code == 403
    assert 'name="q"' not in client.get("/staff/security/").content.decode()


def test_signed_out_a_search_goes_to_sign_in(client):
    response = client.post("/staff/search/", {"contact": CONTACT})

    assert response.status_code == 302
    assert CONTACT not in response["Location"]


# --- how a typed reference is read ------------------------------------------------------


@given(st.text(max_size=40))
def test_whatever_is_typed_reads_as_the_start_of_a_reference_or_as_none(typed):
    prefix = reference_prefix(typed)

    assert prefix is None or re.fullmatch(
        r"GL-[0-9A-HJKMNP-TV-Z]{1,4}(-[0-9A-HJKMNP-TV-Z]{1,4})?", prefix
    )


@given(st.text(ALPHABET, min_size=8, max_size=8), st.sampled_from(["", "-", " ", "–"]))
def test_every_reference_is_read_back_however_it_is_spaced_or_cased(body, dash):
    reference = f"GL-{body[:4]}-{body[4:]}"
    typed = f"gl{dash}{body[:4].lower()}{dash}{body[4:]}"

    assert reference_prefix(typed) == reference
    assert reference_prefix(reference) == reference


def test_requests_stored_before_search_keys_existed_get_theirs_from_the_migration(signed_in):
    from django.apps import apps

    migration = importlib.import_module("intake.migrations.0008_reference_search_key")
    case_with("GL-XP3D-Q9TX")
    case_with("HX-0019991")
    HelpRequest.objects.update(reference_key="")  # as the migration finds them

    migration.fill_keys(apps, None)

    assert signed_in.post("/staff/search/", {"q": "hx 0019991"})["Location"] == (
        "/staff/cases/HX-0019991/"
    )
    assert signed_in.post("/staff/search/", {"q": "xp3dq9tx"})["Location"] == (
        "/staff/cases/GL-XP3D-Q9TX/"
    )
