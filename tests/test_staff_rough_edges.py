"""Small things a new team trips on in its first week (issue 25, item 14)."""

import re

import pytest

from tests.staffing import enter_password, sign_in

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


def test_choosing_a_password_says_why_the_given_one_is_asked_again(client, dave):

    admin = client
    sign_in(admin, dave)
    admin.cookies["django_language"] = "en"
    page = admin.post(
        "/staff/accounts/new/", {"username": "newcomer", "role": "coordinator"}
    ).content.decode()
    issued = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
    from django.test import Client

    newcomer = Client()
    newcomer.cookies["django_language"] = "en"
    enter_password(newcomer, "newcomer", issued)
    form = newcomer.get("/staff/password/").content.decode()
    assert "The one you have just signed in with, once more" in form
    assert 'autocomplete="current-password"' in form and 'autocomplete="new-password"' in form

    wrong = newcomer.post(
        "/staff/password/",
        {
            "current_password": "not it",
            "new_password": "a b c d e f",
            "new_password_again": "a b c d e f",
        },
    ).content.decode()
    # The error names the field as its label does, not "your current password".
    assert "This is not the password you were given." in wrong
    assert "This is not your current password." not in wrong


def test_the_sign_in_form_hints_password_managers(client):
    page = client.get("/staff/login/").content.decode()

    assert re.search(
        r'<input[^>]*name="password"[^>]*autocomplete="current-password"', page
    ) or re.search(r'<input[^>]*autocomplete="current-password"[^>]*name="password"', page)
    assert 'autocomplete="username"' in page


def test_a_grant_made_by_the_demo_is_shown_as_the_demo_not_a_person(client, alice):
    from encryption.models import ContentGrant

    ContentGrant.objects.filter(user=alice.user).update(granted_by="demo_setup")
    sign_in(client, alice)
    client.cookies["django_language"] = "en"
    page = client.get("/staff/access/").content.decode()

    assert '<span class="system-actor">set up by the demo</span>' in page
    assert "<td>demo_setup</td>" not in page


def test_no_account_can_take_a_system_actors_name(client, dave):
    sign_in(client, dave)
    client.cookies["django_language"] = "en"
    page = client.post("/staff/accounts/new/", {"username": "Demo_Setup", "role": "caseworker"})

    assert "This name is kept for the system" in page.content.decode()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username__iexact="demo_setup").exists()
