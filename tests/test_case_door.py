"""
`cases.access.get_case_for` on its own: the one door checks the role, and
that the session may act for the organisation, itself, whatever decorator a
view also carries (a new view without one still meets it).
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from cases.access import get_case_for
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db


def request_by(user):
    request = RequestFactory().get("/anything/")
    request.user = user
    return request


@pytest.fixture
def reference() -> str:
    return CaseFactory().request.reference


def signed_in_request(client, staff):
    """A real request of a signed-in staff session (its cookies, its second factor)."""
    sign_in(client, staff)
    return client.get("/staff/security/").wsgi_request


def test_it_gives_a_caseworker_the_case(client, alice, reference):
    case = get_case_for(signed_in_request(client, alice), reference)

    assert case.request.reference == reference


def test_it_refuses_a_caseworker_whose_session_holds_no_organisation_key(client, reference):
    newcomer = make_staff("nina", "caseworker", with_access=False)

    with pytest.raises(PermissionDenied):
        get_case_for(signed_in_request(client, newcomer), reference)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_it_refuses_every_other_role(role, reference):
    staff = make_staff(f"someone-{role}", role)

    with pytest.raises(PermissionDenied):
        get_case_for(request_by(staff.user), reference)


def test_it_refuses_an_anonymous_visitor_and_an_account_without_a_role(reference):
    nobody = make_staff("no-role").user

    for user in (AnonymousUser(), nobody):
        with pytest.raises(PermissionDenied):
            get_case_for(request_by(user), reference)


def test_it_refuses_a_deactivated_caseworker(alice, reference):
    alice.user.is_active = False
    alice.user.save()

    with pytest.raises(PermissionDenied):
        get_case_for(request_by(alice.user), reference)


def test_it_answers_404_for_an_unknown_reference_and_403_before_it(client, alice, carol):
    with pytest.raises(Http404):
        get_case_for(signed_in_request(client, alice), "GL-NONE-0000")
    # The role is checked first: an outsider cannot probe which references exist.
    with pytest.raises(PermissionDenied):
        get_case_for(request_by(carol.user), "GL-NONE-0000")
