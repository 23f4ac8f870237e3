"""
Security review, item 9: every change to an account, its groups, password,
flags or devices is audited, whichever page or command makes it.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from audit.models import AuditEntry
from tests.staffing import PASSWORD, confirmed_post, make_staff, sign_in

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a new password typed in the admin"


def entries_for(username: str) -> list[tuple[str, dict]]:
    return list(AuditEntry.objects.filter(target=username).values_list("action", "detail"))


def test_the_django_admins_password_change_goes_to_the_audited_page(client, dave):
    sign_in(client, dave)

    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/security/"
    dave.user.refresh_from_db()
    assert dave.user.check_password(PASSWORD)


def test_accounts_cannot_be_changed_in_the_django_admin(client, dave, alice):
    sign_in(client, dave)

    response = client.post(
        f"/admin/auth/user/{alice.user.pk}/change/", {"username": "alice", "is_active": ""}
    )

    assert response.status_code == 403
    alice.user.refresh_from_db()
    assert alice.user.is_active


def test_a_password_set_from_a_shell_is_audited_without_its_value(alice):
    user = get_user_model().objects.get(username="alice")
    user.set_password(NEW_PASSWORD)
    user.save()

    assert ("account.changed", {"fields": ["password"]}) in entries_for("alice")
    assert user.password not in str(list(AuditEntry.objects.values()))


def test_flags_and_groups_changed_from_a_shell_are_audited(alice):
    user = get_user_model().objects.get(username="alice")
    user.is_superuser = user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    user.groups.remove(Group.objects.get(name="caseworker"))

    found = entries_for("alice")
    assert ("account.changed", {"fields": ["is_staff", "is_superuser"]}) in found
    assert ("account.groups_changed", {"change": "add", "groups": ["admin"]}) in found
    assert ("account.groups_changed", {"change": "remove", "groups": ["caseworker"]}) in found


def test_devices_removed_from_a_shell_are_audited(alice):
    from accounts.models import AuthenticatorDevice

    AuthenticatorDevice.objects.filter(user=alice.user).delete()

    assert ("account.device_removed", {"device": "authenticatordevice"}) in entries_for("alice")


def test_an_account_made_by_createsuperuser_is_audited(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "")

    assert [action for action, _detail in entries_for("root")] == ["account.created"]


def test_changes_made_by_the_services_are_audited_once(client, dave):
    erin = make_staff("erin", "caseworker")
    sign_in(client, dave)
    before = AuditEntry.objects.count()

    confirmed_post(client, f"/staff/accounts/{erin.user.pk}/deactivate/")

    new = list(
        AuditEntry.objects.filter(seq__gt=before).order_by("seq").values_list("action", "actor")
    )
    # Deactivating a caseworker also forgets their content keys and replaces the
    # organisation key, each audited on its own.
    assert new == [
        ("content_key.forgotten", "dave"),
        ("content_key.rotation_started", "dave"),
        ("staff.deactivate", "dave"),
    ]
