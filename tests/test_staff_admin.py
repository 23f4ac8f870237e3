"""
Admins create staff, issue one-time passwords, reset authenticators and
deactivate accounts; none of it lets them sign in as someone else unnoticed.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AuthenticatorDevice, BackupCodeDevice
from audit.models import AuditEntry
from tests.factories import CaseFactory
from tests.staffing import PASSWORD, confirmed_post, enter_password, make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db
OWN_PASSWORD = "my own phrase nobody else knows"


def english_client() -> Client:
    other = Client()
    other.cookies["django_language"] = "en"
    return other


def create_account(client, username: str, role: str = "caseworker") -> str:
    """An admin (signed in on `client`) creates an account; the one-time password."""
    response = client.post("/staff/accounts/new/", {"username": username, "role": role})
    assert response.status_code == 200
    return response.context["password"]


def choose_password(client, issued: str, new: str = OWN_PASSWORD):
    return client.post(
        "/staff/password/",
        {"current_password": issued, "new_password": new, "new_password_again": new},
    )


def enrol(client, username: str):
    client.get("/staff/enrol/")
    device = AuthenticatorDevice.objects.get(user__username=username, confirmed=False)
    return client.post("/staff/enrol/", {"code": totp_code(device)})


def test_an_admin_creates_an_account_whose_password_is_shown_once(client, dave):
    sign_in(client, dave)
    password = create_account(client, "mallory")

    person = get_user_model().objects.get(username="mallory")
    assert person.groups.get().name == "caseworker"
    assert AuditEntry.objects.filter(action="staff.create", actor="dave", target="mallory").exists()
    assert password not in str(list(AuditEntry.objects.values()))
    client.post("/staff/logout/")
    assert enter_password(client, "mallory", password)["Location"] == "/staff/password/"


def test_an_issued_password_opens_only_the_page_to_choose_ones_own(client, dave):
    """Replays item 2: an admin signs in with the password they issued and tries
    to enrol an authenticator and read cases as the new caseworker."""
    case = CaseFactory(request__narrative="what the admin wants to read")
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    client.post("/staff/logout/")

    enter_password(client, "mallory", issued)
    for url in [
        "/staff/enrol/",
        "/staff/verify/",
        "/staff/",
        f"/staff/cases/{case.request.reference}/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] in {"/staff/password/", "/staff/verify/"}, url
    assert client.get("/staff/enrol/")["Location"] == "/staff/password/"
    assert not AuthenticatorDevice.objects.filter(user__username="mallory").exists()


def test_the_owner_chooses_a_password_then_enrols_and_the_issued_one_is_spent(client, dave):
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    owner = english_client()

    enter_password(owner, "mallory", issued)
    assert choose_password(owner, issued)["Location"] == "/staff/enrol/"
    assert enrol(owner, "mallory").status_code == 200
    assert owner.get("/staff/", follow=True).status_code == 200

    assert enter_password(english_client(), "mallory", issued).status_code == 200  # refused
    changed = AuditEntry.objects.get(action="auth.password_changed", target="mallory")
    assert (changed.actor, changed.detail["replaced_issued_by"]) == ("mallory", "dave")


def test_a_weak_or_mismatched_chosen_password_is_refused(client, dave):
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    owner = english_client()
    enter_password(owner, "mallory", issued)

    weak = choose_password(owner, issued, "short")
    assert "too short" in weak.content.decode()
    wrong = choose_password(owner, "not the issued one", OWN_PASSWORD)
    assert "not the password you were given" in wrong.content.decode()
    assert owner.get("/staff/enrol/")["Location"] == "/staff/password/"


def test_a_taken_username_is_refused(client, dave, alice):
    sign_in(client, dave)
    response = client.post("/staff/accounts/new/", {"username": "alice", "role": "admin"})

    assert "already exists" in response.content.decode()


def test_a_device_reset_asks_for_confirmation_first(client, dave, alice):
    sign_in(client, dave)

    page = client.get(f"/staff/accounts/{alice.user.pk}/reset-device/")
    unconfirmed = client.post(f"/staff/accounts/{alice.user.pk}/reset-device/")

    for response in (page, unconfirmed):
        assert response.status_code == 200
        assert 'name="confirmation" value="' in response.content.decode()
    assert AuthenticatorDevice.objects.filter(user=alice.user).exists()
    assert not AuditEntry.objects.filter(action="staff.reset_device").exists()


def test_resetting_a_device_ends_the_sessions_and_expires_the_password(client, dave, alice):
    """Replays item 2: after a reset the owner's old password must not work,
    so an admin who once knew it cannot enrol their own phone with it."""
    theirs = english_client()
    sign_in(theirs, alice)
    sign_in(client, dave)

    response = confirmed_post(client, f"/staff/accounts/{alice.user.pk}/reset-device/")

    issued = response.context["password"]
    assert theirs.get("/staff/").status_code == 302
    assert enter_password(theirs, "alice", PASSWORD).status_code == 200  # refused
    assert not AuthenticatorDevice.objects.filter(user=alice.user).exists()
    assert not BackupCodeDevice.objects.filter(user=alice.user).exists()
    assert enter_password(theirs, "alice", issued)["Location"] == "/staff/password/"
    actions = AuditEntry.objects.filter(actor="dave", target="alice").values_list(
        "action", flat=True
    )
    assert {"staff.reset_device", "staff.password_issued"} <= set(actions)


def test_admins_cannot_issue_themselves_a_password_or_reset_themselves(client, dave):
    sign_in(client, dave)

    confirmed_post(client, f"/staff/accounts/{dave.user.pk}/new-password/")
    confirmed_post(client, f"/staff/accounts/{dave.user.pk}/reset-device/")

    assert AuthenticatorDevice.objects.filter(user=dave.user, confirmed=True).exists()
    assert client.get("/staff/accounts/").status_code == 200  # still signed in, as before
    refused = ["staff.reset_device", "staff.password_issued"]
    assert not AuditEntry.objects.filter(action__in=refused).exists()


def test_another_admin_can_reset_an_admin(client, dave):
    erin = make_staff("erin", "admin")
    sign_in(client, dave)

    response = confirmed_post(client, f"/staff/accounts/{erin.user.pk}/reset-device/")

    assert response.status_code == 200
    assert not AuthenticatorDevice.objects.filter(user=erin.user).exists()


def test_an_admin_issues_a_new_password_which_keeps_the_authenticator(client, dave, alice):
    sign_in(client, dave)
    assert client.post(f"/staff/accounts/{alice.user.pk}/new-password/").status_code == 200
    assert enter_password(english_client(), "alice")["Location"] == "/staff/verify/"

    issued = confirmed_post(client, f"/staff/accounts/{alice.user.pk}/new-password/").context[
        "password"
    ]

    owner = english_client()
    assert enter_password(owner, "alice", PASSWORD).status_code == 200  # the old one is gone
    enter_password(owner, "alice", issued)
    # Their own password first, then their own authenticator, as before.
    assert choose_password(owner, issued)["Location"] == "/staff/verify/"
    owner.post("/staff/verify/", {"code": totp_code(alice.device)})
    assert owner.get("/staff/", follow=True).status_code == 200


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(client, dave, alice):
    theirs = english_client()
    sign_in(theirs, alice)
    sign_in(client, dave)
    assert client.post(f"/staff/accounts/{alice.user.pk}/deactivate/").status_code == 200
    assert theirs.get("/staff/").status_code == 200  # not yet: that was the question

    confirmed_post(client, f"/staff/accounts/{alice.user.pk}/deactivate/")

    assert theirs.get("/staff/")["Location"].startswith("/staff/login/")
    assert enter_password(theirs, "alice").status_code == 200  # refused, form shown again
    assert AuditEntry.objects.filter(action="staff.deactivate", target="alice").exists()


def test_an_admin_cannot_deactivate_themselves(client, dave):
    sign_in(client, dave)
    confirmed_post(client, f"/staff/accounts/{dave.user.pk}/deactivate/")

    assert get_user_model().objects.get(pk=dave.user.pk).is_active


def test_an_admin_lifts_a_lock(client, dave):
    erin = make_staff("erin", "caseworker")
    for _ in range(10):
        enter_password(client, "erin", "wrong")
    sign_in(client, dave)

    client.post(f"/staff/accounts/{erin.user.pk}/unlock/")
    client.post("/staff/logout/")

    assert enter_password(client, "erin")["Location"] == "/staff/verify/"


# --- one-time passwords that read aloud ------------------------------------------

ONE_TIME = re.compile(r"[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){4}")


def test_a_one_time_password_has_no_look_alike_characters_and_reads_in_groups(client, dave):
    sign_in(client, dave)

    passwords = [create_account(client, f"newcomer{n}") for n in range(5)]

    for password in passwords:
        assert ONE_TIME.fullmatch(password), password
        assert not set(password) & set("0O1IlL")
    # 20 characters of 31: log2(31) * 20 = 99 random bits, and no two alike.
    assert len(set(passwords)) == 5


@pytest.mark.parametrize(
    "typed",
    [
        lambda issued: issued,
        lambda issued: issued.replace("-", ""),
        lambda issued: issued.lower(),
        lambda issued: " ".join(issued.split("-")),
    ],
    ids=["as shown", "without dashes", "in lower case", "with spaces"],
)
def test_the_owner_types_the_one_time_password_as_it_comes(client, dave, typed):
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    owner = english_client()

    assert enter_password(owner, "mallory", typed(issued))["Location"] == "/staff/password/"
    assert choose_password(owner, typed(issued))["Location"] == "/staff/enrol/"


def test_a_one_time_password_one_character_off_opens_nothing(client, dave):
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    other = "2" if issued[-1] != "2" else "3"

    assert enter_password(english_client(), "mallory", issued[:-1] + other).status_code == 200


# --- roles and reactivation ----------------------------------------------------------


def test_the_staff_list_names_roles_in_the_readers_language(client, dave, alice):
    sign_in(client, dave)

    english = client.get("/staff/accounts/").content.decode()
    client.cookies["django_language"] = "ru"
    russian = client.get("/staff/accounts/").content.decode()

    assert "<td>Caseworker</td>" in english and "<td>Admin</td>" in english
    assert "<td>Консультант</td>" in russian and "<td>Администратор</td>" in russian
    assert "<td>caseworker</td>" not in english + russian


def test_a_role_change_is_confirmed_on_a_second_page_then_audited(client, dave, alice):
    sign_in(client, dave)
    url = f"/staff/accounts/{alice.user.pk}/role/"

    choice = client.get(url)
    question = client.post(url, {"role": "coordinator"})

    assert choice.status_code == question.status_code == 200
    assert "Make alice Coordinator?" in question.content.decode()
    assert alice.user.groups.get().name == "caseworker"  # not yet
    response = confirmed_post(client, url, {"role": "coordinator"})
    assert response["Location"] == "/staff/accounts/"
    assert [group.name for group in alice.user.groups.all()] == ["coordinator"]
    entry = AuditEntry.objects.get(action="staff.role_changed")
    assert (entry.actor, entry.target) == ("dave", "alice")
    assert entry.detail == {"from_role": ["caseworker"], "to_role": "coordinator"}


def test_a_former_caseworker_reads_no_case_at_their_next_page(client, dave, alice):
    case = CaseFactory()
    theirs = english_client()
    sign_in(theirs, alice)
    assert theirs.get(f"/staff/cases/{case.request.reference}/").status_code == 200
    sign_in(client, dave)

    confirmed_post(client, f"/staff/accounts/{alice.user.pk}/role/", {"role": "coordinator"})

    # Their sessions end with the role (and the content keys in them): sign in again.
    response = theirs.get(f"/staff/cases/{case.request.reference}/")
    assert response.status_code == 302 and response.url.startswith("/staff/login/")
    sign_in(theirs, alice)
    assert theirs.get(f"/staff/cases/{case.request.reference}/").status_code == 403
    assert theirs.get("/staff/dashboard/").status_code == 200


def test_a_new_admin_may_enter_the_django_admin_and_a_former_one_may_not(client, dave):
    erin = make_staff("erin", "coordinator")
    sign_in(client, dave)
    url = f"/staff/accounts/{erin.user.pk}/role/"

    confirmed_post(client, url, {"role": "admin"})
    erin.user.refresh_from_db()
    assert erin.user.is_staff
    confirmed_post(client, url, {"role": "caseworker"})
    erin.user.refresh_from_db()
    assert not erin.user.is_staff


def test_a_role_change_to_the_same_role_or_a_made_up_one_changes_nothing(client, dave, alice):
    sign_in(client, dave)
    url = f"/staff/accounts/{alice.user.pk}/role/"

    same = client.post(url, {"role": "caseworker", "confirmed": "yes"})
    made_up = client.post(url, {"role": "superuser", "confirmed": "yes"})

    assert same.status_code == made_up.status_code == 400
    assert "already has this role" in same.content.decode()
    assert [group.name for group in alice.user.groups.all()] == ["caseworker"]
    assert not AuditEntry.objects.filter(action="staff.role_changed").exists()


def test_an_admin_cannot_change_their_own_role(client, dave):
    sign_in(client, dave)

    response = confirmed_post(
        client, f"/staff/accounts/{dave.user.pk}/role/", {"role": "caseworker"}
    )

    assert response.status_code == 400
    assert "your own account" in response.content.decode()
    assert [group.name for group in dave.user.groups.all()] == ["admin"]


def test_only_admins_change_roles_or_reactivate(client, carol, alice):
    sign_in(client, carol)

    for action in ("role", "reactivate"):
        path = f"/staff/accounts/{alice.user.pk}/{action}/"
        assert client.post(path, {"role": "admin", "confirmed": "yes"}).status_code == 403
    assert [group.name for group in alice.user.groups.all()] == ["caseworker"]


def test_a_deactivated_account_is_reactivated_with_a_one_time_password(client, dave, alice):
    sign_in(client, dave)
    confirmed_post(client, f"/staff/accounts/{alice.user.pk}/deactivate/")
    url = f"/staff/accounts/{alice.user.pk}/reactivate/"
    assert 'name="confirmation" value="' in client.get(url).content.decode()
    assert 'name="confirmation" value="' in client.post(url).content.decode()
    alice.user.refresh_from_db()
    assert not alice.user.is_active  # not before the confirmation

    issued = confirmed_post(client, url).context["password"]

    alice.user.refresh_from_db()
    assert alice.user.is_active
    owner = english_client()
    assert enter_password(owner, "alice", PASSWORD).status_code == 200  # the old one: refused
    assert enter_password(owner, "alice", issued)["Location"] == "/staff/password/"
    entries = AuditEntry.objects.filter(actor="dave", target="alice")
    actions = entries.values_list("action", flat=True)
    assert {"staff.deactivate", "staff.reactivate", "staff.password_issued"} <= set(actions)


def test_an_active_account_is_not_reactivated(client, dave, alice):
    sign_in(client, dave)

    response = confirmed_post(client, f"/staff/accounts/{alice.user.pk}/reactivate/")

    assert response["Location"] == "/staff/accounts/"
    assert enter_password(english_client(), "alice")["Location"] == "/staff/verify/"
    assert not AuditEntry.objects.filter(action="staff.reactivate").exists()


def test_setting_up_a_first_authenticator_does_not_mention_backup_codes(client, dave):
    sign_in(client, dave)
    issued = create_account(client, "mallory")
    owner = english_client()
    enter_password(owner, "mallory", issued)
    choose_password(owner, issued)

    page = owner.get("/staff/enrol/").content.decode()

    assert "The six digits the app shows now." in page
    assert "backup code" not in page
