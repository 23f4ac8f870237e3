"""Staff accounts for tests, and signing them in through the real pages."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.oath import TOTP

from accounts.models import AuthenticatorDevice
from accounts.services import replace_backup_codes
from tests import content_keys

PASSWORD = "a long and correct test password"


class Staff:
    def __init__(self, user, device, backup_codes):
        self.user = user
        self.device = device
        self.backup_codes = backup_codes

    @property
    def username(self) -> str:
        return self.user.username


def make_staff(
    username: str, *roles: str, enrolled: bool = True, with_access: bool = True
) -> Staff:
    """A staff account; a caseworker has a key pair and access to content unless
    `with_access` is False (a newcomer waiting for a grant)."""
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff="admin" in roles
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if "caseworker" in roles and with_access:
        content_keys.grant(user, PASSWORD)
    device = codes = None
    if enrolled:
        device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
        codes = replace_backup_codes(user)
    return Staff(user, device, codes)


def totp_code(device: AuthenticatorDevice) -> str:
    """The code an authenticator shows now, or for the next time step if this
    one was already used (the device refuses a step twice)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    step = max(totp.t(), device.last_t + 1)
    totp.time = step * device.step + device.t0
    return f"{totp.token():0{device.digits}d}"


def enter_password(client, username: str, password: str = PASSWORD):
    return client.post("/staff/login/", {"username": username, "password": password})


def sign_in(client, staff: Staff):
    """Password, then a TOTP code: a fully verified staff session."""
    enter_password(client, staff.username)
    response = client.post("/staff/verify/", {"code": totp_code(staff.device)})
    assert response.status_code == 302, response.content[:500]
    return response


def confirmation_on(page) -> str:
    """The one-time confirmation a confirmation page's form carries."""
    found = re.search(r'name="confirmation" value="([^"]+)"', page.content.decode())
    assert found, page.content.decode()[:2000]
    return found.group(1)


def confirmed_post(client, path: str, data: dict | None = None, **extra):
    """Post an action that asks first: the confirmation page, then its form
    with the one-time confirmation that page issued."""
    data = dict(data or {})
    page = client.post(path, data)
    return client.post(path, {**data, "confirmation": confirmation_on(page)}, **extra)
