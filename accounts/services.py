"""
Staff accounts: creation, the second factor, failures and locks, deactivation.

Every change here is written to the audit log. Passwords, codes and TOTP
secrets never are.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import lockdown
from accounts.models import SignInGuard
from accounts.roles import Role
from audit.services import record

BACKUP_CODE_COUNT = 10
User = get_user_model()


@dataclass
class NewStaff:
    user: object
    otpauth_uri: str
    backup_codes: list[str]


def _new_account(username: str, role: str, password: str, *, actor):
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = User(username=username, is_staff=(role == Role.ADMIN))
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    record("staff.create", actor=actor, target=username, role=role)
    return user


def create_staff(username: str, role: str, password: str, *, actor=None) -> NewStaff:
    """An account with its role, a confirmed TOTP device and fresh backup codes
    (`manage.py create_staff`, for a server with no web access yet)."""
    with transaction.atomic():
        user = _new_account(username, role, password, actor=actor)
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        codes = replace_backup_codes(user)
    return NewStaff(user=user, otpauth_uri=device.config_url, backup_codes=codes)


def renew_credentials(user, password: str, *, actor) -> NewStaff:
    """A new password, authenticator and backup codes for an existing account."""
    with transaction.atomic():
        validate_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.save()
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        codes = replace_backup_codes(user)
        register_success(user)
        record("staff.renew_credentials", actor=actor, target=user.get_username())
    return NewStaff(user=user, otpauth_uri=device.config_url, backup_codes=codes)


def add_staff_pending_enrolment(username: str, role: str, password: str, *, actor):
    """An account created by an admin in the web UI: its owner enrols a device
    on first sign-in, so no one else ever sees the secret."""
    with transaction.atomic():
        return _new_account(username, role, password, actor=actor)


def replace_backup_codes(user) -> list[str]:
    """Ten new single-use codes; any earlier ones stop working."""
    device, _created = StaticDevice.objects.get_or_create(user=user, name="backup codes")
    device.confirmed = True
    device.save()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def has_confirmed_totp(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed device an enrolling user scans; one per user."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def confirm_enrolment(user, code: str) -> list[str] | None:
    """Confirm the scanned device with a code from it; returns the new backup codes."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(normalise_code(code)):
            return None
        device.confirmed = True
        device.save()
        codes = replace_backup_codes(user)
        record("auth.enrolled", actor=user, target=user.get_username())
    return codes


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def verify_second_factor(user, code: str):
    """
    The device that accepts `code`, or None. Six digits are tried on the TOTP
    device (which refuses a code whose time step was already used); anything
    else on the backup codes, each of which works once.
    """
    code = normalise_code(code)
    devices = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    with transaction.atomic():
        candidates = devices.objects.select_for_update().filter(user=user, confirmed=True)
        for device in candidates:
            if device.verify_token(code):
                return device
    return None


def remaining_backup_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- signing in ----------------------------------------------------------------


class SignInRefused(Exception):
    """The message is shown to the person; it never says which part was wrong."""


def check_password(request, username: str, password: str):
    """
    The account for this username and password, or SignInRefused. Wrong
    passwords count towards the account's lock; a locked account is refused
    whatever the password.
    """
    user = User.objects.filter(username=username).first()
    if user is not None and is_locked(user):
        record("auth.refused", target=username, reason="locked")
        raise SignInRefused(LOCKED_MESSAGE)
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is not None:
        if not lockdown.may_sign_in(authenticated):
            record("auth.refused", target=username, reason="lockdown")
            raise SignInRefused(lockdown.REFUSED_MESSAGE)
        record("auth.password_accepted", target=username)
        return authenticated
    if user is not None and user.is_active:
        if register_failure(user, stage="password"):
            raise SignInRefused(LOCKED_MESSAGE)
    else:
        # No username is recorded: a mistyped password often lands in this field.
        record("auth.failed", stage="password", known_account=False)
    raise SignInRefused(WRONG_CREDENTIALS_MESSAGE)


LOCKED_MESSAGE = _(
    "Too many failed attempts: signing in to this account is blocked for a while. "
    "An admin can lift the block sooner."
)
WRONG_CREDENTIALS_MESSAGE = _("Wrong username or password.")


# --- failures and locks ----------------------------------------------------


def guard_for(user) -> SignInGuard:
    return SignInGuard.objects.get_or_create(user=user)[0]


def is_locked(user) -> bool:
    return guard_for(user).is_locked


def register_failure(user, *, stage: str) -> bool:
    """Count a wrong password or code; lock the account at the limit. True if it
    is (now) locked."""
    with transaction.atomic():
        guard = SignInGuard.objects.select_for_update().get_or_create(user=user)[0]
        guard.failures += 1
        record("auth.failed", target=user.get_username(), stage=stage, failures=guard.failures)
        if guard.failures >= settings.SIGN_IN_FAILURE_LIMIT and not guard.is_locked:
            guard.locked_until = timezone.now() + timedelta(minutes=settings.SIGN_IN_LOCK_MINUTES)
            record(
                "auth.locked",
                target=user.get_username(),
                minutes=settings.SIGN_IN_LOCK_MINUTES,
                failures=guard.failures,
            )
        guard.save()
    return guard.is_locked


def register_success(user) -> None:
    SignInGuard.objects.update_or_create(user=user, defaults={"failures": 0, "locked_until": None})


def unlock(user, *, actor) -> None:
    register_success(user)
    record("staff.unlock", actor=actor, target=user.get_username())


# --- account management by admins --------------------------------------------


def end_sessions_of(user) -> int:
    """Delete every stored session of this user; their next request signs in again."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def reset_devices(user, *, actor) -> None:
    """Remove the account's devices and codes: its owner enrols again at next sign-in."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        sessions = end_sessions_of(user)
        record("staff.reset_device", actor=actor, target=user.get_username(), sessions=sessions)


def deactivate(user, *, actor) -> None:
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        sessions = end_sessions_of(user)
        record("staff.deactivate", actor=actor, target=user.get_username(), sessions=sessions)
