"""Small things a new team trips on in its first week (issue 25, item 14)."""

import pytest

from tests.staffing import sign_in

pytestmark = pytest.mark.django_db


def test_a_staff_403_keeps_the_staff_layout_and_a_way_back(client, alice):
    sign_in(client, alice)
    client.cookies["django_language"] = "en"
    response = client.get("/staff/dashboard/")

    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="staff-nav"' in page and "Sign out" in page
    assert '<a href="/staff/">Back to your start page</a>' in page


def test_a_403_for_someone_without_a_role_stays_public(client):
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory
    from django.views.defaults import permission_denied

    request = RequestFactory().get("/anything/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    page = permission_denied(request, PermissionDenied()).content.decode()

    assert "staff-nav" not in page and 'href="/"' in page
