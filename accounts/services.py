"""
Staff accounts: creation, second factors, passwords, signing in with its
locks, and what admins may do to accounts.

Every change here is written to the audit log. Passwords, codes and TOTP
secrets never are.

Where a password changes hands, one function decides: the owner changes
their own with `change_own_password`; an admin can only issue a one-time
password (`issue_one_time_password`, also the end of `reset_devices` and of
creating an account on the web), which opens nothing but the page where its
owner chooses their own. An admin never learns a password that stays in use.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login

from accounts import lockdown, throttle
from accounts.models import (
    AuthenticatorDevice,
    BackupCode,
    BackupCodeDevice,
    IssuedPassword,
    SignInGuard,
    UnknownSignInTally,
    backup_code_digest,
)
from accounts.roles import Role, has_role
from accounts.signals import audited_by_service
from audit.services import actor_name, record
from encryption import services as key_services
from encryption import session as key_session

BACKUP_CODE_COUNT = 10
# One-time passwords are read out or written down for their owner: no 0/O,
# 1/I/L to confuse. 20 characters of 31 carry 99 random bits.
ONE_TIME_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ONE_TIME_LENGTH, ONE_TIME_GROUP = 20, 4
# Failures of one account from everywhere are counted over this long.
ACCOUNT_FAILURE_WINDOW = timedelta(hours=24)
User = get_user_model()


class AccountError(Exception):
    """An account change that is refused; the message says why."""


class WrongPassword(Exception):
    """The current password given to confirm a change is wrong."""


@dataclass
class NewStaff:
    user: object
    otpauth_uri: str
    backup_codes: list[str]
    # Only for the caseworker who bootstrapped the organisation key: shown once.
    recovery_key: str = ""


@dataclass
class IssuedAccount:
    user: object
    password: str  # one-time: its owner replaces it before anything else


def _new_account(username: str, role: str, password: str | None, *, actor):
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = User(username=username, is_staff=(role == Role.ADMIN))
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    record("staff.create", actor=actor, target=username, role=role)
    return user


def _new_authenticator(user, *, confirmed: bool) -> AuthenticatorDevice:
    return AuthenticatorDevice.objects.create(user=user, name="authenticator", confirmed=confirmed)


def create_staff(username: str, role: str, password: str, *, actor=None) -> NewStaff:
    """An account with its role, a confirmed authenticator and fresh backup codes
    (`manage.py create_staff`, for a server with no web access yet)."""
    with transaction.atomic(), audited_by_service():
        user = _new_account(username, role, password, actor=actor)
        device = _new_authenticator(user, confirmed=True)
        codes = replace_backup_codes(user)
        recovery_key = _caseworker_key_for(user, role, password, actor=actor)
    return NewStaff(
        user=user, otpauth_uri=device.config_url, backup_codes=codes, recovery_key=recovery_key
    )


def _caseworker_key_for(user, role: str, password: str, *, actor) -> str:
    """
    A caseworker made on the server gets their key pair at once. The first one
    on an installation without an organisation key creates it (docs/encryption.md,
    Bootstrap): the recovery key is returned, to be shown once.
    """
    if role != Role.CASEWORKER:
        return ""
    if not key_services.has_organisation_key():
        return key_services.bootstrap(user, password, actor=actor)
    key_services.set_caseworker_key(user, password)
    record("content_key.created", actor=actor, target=user.get_username())
    return ""


def renew_credentials(user, password: str, *, actor, keep_authenticator: bool = False) -> NewStaff:
    """A new password, authenticator and backup codes for an existing account
    (demo accounts, from the server); with `keep_authenticator`, a confirmed
    authenticator stays (the demo's between starts: nobody scans it again)."""
    with transaction.atomic(), audited_by_service():
        validate_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.save()
        IssuedPassword.objects.filter(user=user).delete()
        kept = (
            AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
            if keep_authenticator
            else None
        )
        others = AuthenticatorDevice.objects.filter(user=user)
        (others.exclude(pk=kept.pk) if kept else others).delete()
        if kept is None:
            passkeys_of(user).delete()
        # The old key opened with the old password only: a fresh one, no access.
        key_services.forget_caseworker(user, actor=actor, reason="credentials_renewed")
        if has_role(user, Role.CASEWORKER):
            key_services.set_caseworker_key(user, password)
        device = kept or _new_authenticator(user, confirmed=True)
        codes = replace_backup_codes(user)
        _clear_failures(user, forget_sources=True)
        record("staff.renew_credentials", actor=actor, target=user.get_username())
    return NewStaff(user=user, otpauth_uri=device.config_url, backup_codes=codes)


def add_staff_pending_enrolment(username: str, role: str, *, actor) -> IssuedAccount:
    """An account created by an admin in the web UI, with a one-time password:
    its owner chooses their own password and enrols a device at first sign-in,
    so no one else ever holds either."""
    with transaction.atomic(), audited_by_service():
        user = _new_account(username, role, None, actor=actor)
        password = issue_one_time_password(user, actor=actor)
    return IssuedAccount(user=user, password=password)


# --- passwords --------------------------------------------------------------------


def issue_one_time_password(user, *, actor) -> str:
    """
    Replace the account's password with a random one for an admin to hand
    over. It opens only the page where the owner chooses their own; every
    session of the account ends, and its sign-in locks are lifted.
    """
    _refuse_own_account(user, actor)
    password = new_one_time_password()
    with transaction.atomic(), audited_by_service():
        user.set_password(_one_time_form(password))
        user.save(update_fields=["password"])
        IssuedPassword.objects.update_or_create(
            user=user, defaults={"issued_at": timezone.now(), "issued_by": actor_name(actor)}
        )
        # Whoever holds the issued password must not get the content with it: the
        # account's key and grants go, and a caseworker grants access again.
        key_services.forget_caseworker(user, actor=actor, reason="password_issued")
        sessions = end_sessions_of(user)
        _clear_failures(user, forget_sources=True)
        record("staff.password_issued", actor=actor, target=user.get_username(), sessions=sessions)
    return password


def new_one_time_password() -> str:
    """Five groups of four, e.g. K7PX-3MQA-…, for reading aloud."""
    chars = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))
    return "-".join(chars[i : i + ONE_TIME_GROUP] for i in range(0, len(chars), ONE_TIME_GROUP))


def _one_time_form(typed: str) -> str:
    """
    A one-time password as stored: its characters, upper case, so that it
    works as typed, with or without the dashes, spaces or capitals. Text that
    is not one (a password issued before this form) is left as typed.
    """
    compact = "".join(typed.replace("-", "").split()).upper()
    if len(compact) == ONE_TIME_LENGTH and all(ch in ONE_TIME_ALPHABET for ch in compact):
        return compact
    return typed


def password_matches(user, password: str) -> bool:
    """One password hash, whatever the outcome."""
    if must_choose_password(user):  # an issued one-time password, typed from paper
        password = _one_time_form(password)
    with audited_by_service():  # a hash upgraded on the way is no account change
        return user.check_password(password)


def must_choose_password(user) -> bool:
    """Whether the account's password was issued by an admin and not yet replaced."""
    return IssuedPassword.objects.filter(user=user).exists()


def change_own_password(
    user, old_password: str, new_password: str, *, request: HttpRequest | None = None
) -> None:
    """
    The owner replaces their own password (the one they chose, or one an admin
    issued). Raises WrongPassword if `old_password` is not the current one, and
    ValidationError if the new one fails the password validators. With
    `request`, that session stays signed in; the account's other sessions end.
    """
    if not password_matches(user, old_password):
        raise WrongPassword
    if new_password == old_password:
        raise ValidationError(_("The new password must differ from the current one."))
    validate_password(new_password, user)
    with transaction.atomic(), audited_by_service():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        issued = IssuedPassword.objects.filter(user=user).first()
        if issued:
            issued.delete()
        _rewrap_caseworker_key(user, old_password, new_password)
        record(
            "auth.password_changed",
            actor=user,
            target=user.get_username(),
            replaced_issued_by=issued.issued_by if issued else None,
        )
    if request is not None:
        update_session_auth_hash(request, user)
        if has_role(user, Role.CASEWORKER):
            key_session.keep_for_session(request, user, key_services.unlock(user, new_password))


def _rewrap_caseworker_key(user, old_password: str, new_password: str) -> None:
    """The caseworker key follows the password; a caseworker's first own password makes it."""
    if key_services.caseworker_key(user) is not None:
        key_services.change_password(user, old_password, new_password)
    elif has_role(user, Role.CASEWORKER):
        key_services.set_caseworker_key(user, new_password)
        record("content_key.created", actor=user, target=user.get_username())


def unlock_content(request: HttpRequest, user, password: str) -> None:
    """
    At the password step: the caseworker's key pair opens their grants, and the
    organisation keys are kept for the session, sealed under a key in their
    cookie (encryption.session). A caseworker from before content keys gets
    their key pair here; an admin-issued password never makes or opens one.
    """
    if not has_role(user, Role.CASEWORKER) or must_choose_password(user):
        return
    if key_services.caseworker_key(user) is None:
        key_services.set_caseworker_key(user, password)
        record("content_key.created", actor=user, target=user.get_username())
    key_session.keep_for_session(request, user, key_services.unlock(user, password))


def _refuse_own_account(user, actor) -> None:
    # An admin who could reset their own authenticator or issue themselves a
    # password from a stolen session would keep the account after the theft.
    if getattr(actor, "pk", None) is not None and actor.pk == user.pk:
        raise AccountError(str(_("You cannot do this to your own account.")))


# --- second factors -----------------------------------------------------------------


def new_backup_code() -> str:
    """Ten characters of base32 (50 random bits), in two groups for reading aloud."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    code = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


def replace_backup_codes(user) -> list[str]:
    """Ten new single-use codes; any earlier ones stop working. Only their
    keyed digests are stored: the codes are returned to be shown once."""
    with transaction.atomic(), audited_by_service():
        device, _created = BackupCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "backup codes"}
        )
        device.confirmed = True
        device.throttle_reset(commit=False)
        device.save()
        device.codes.all().delete()
        codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
        BackupCode.objects.bulk_create(
            BackupCode(device=device, digest=backup_code_digest(user.pk, normalise_code(code)))
            for code in codes
        )
    return codes


def renew_backup_codes(user, password: str) -> list[str]:
    """New backup codes from the owner's security page; the password confirms it."""
    if not password_matches(user, password):
        raise WrongPassword
    codes = replace_backup_codes(user)
    record("auth.backup_codes_replaced", actor=user, target=user.get_username())
    return codes


def has_confirmed_totp(user) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def authenticator_of(user) -> AuthenticatorDevice | None:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp_device(user) -> AuthenticatorDevice:
    """The unconfirmed device an enrolling user scans; one per user."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        with audited_by_service():
            device = _new_authenticator(user, confirmed=False)
    return device


def confirm_enrolment(user, code: str) -> list[str] | None:
    """Confirm the scanned device with a code from it; returns the new backup codes."""
    if must_choose_password(user):
        raise AccountError(str(_("Choose your own password first.")))
    with transaction.atomic():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .first()
        )
        if device is None or not device.verify_token(normalise_code(code)):
            return None
        device.confirmed = True
        device.save()
        codes = replace_backup_codes(user)
        record("auth.enrolled", actor=user, target=user.get_username())
    return codes


def begin_authenticator_replacement(user, password: str, code: str) -> AuthenticatorDevice:
    """
    The owner starts replacing their authenticator: their password and a code
    from the current one (or a backup code) prove it is them and not a stolen
    session. Returns the new, unconfirmed device to scan.
    """
    if not password_matches(user, password):
        raise WrongPassword
    if verify_second_factor(user, code) is None:
        raise AccountError(str(_("This code is not valid, or it was already used.")))
    with transaction.atomic(), audited_by_service():
        AuthenticatorDevice.objects.filter(user=user, confirmed=False).delete()
        return _new_authenticator(user, confirmed=False)


def finish_authenticator_replacement(user, code: str) -> AuthenticatorDevice | None:
    """A code from the new device replaces the old one; None if it does not match."""
    with transaction.atomic(), audited_by_service():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .first()
        )
        if device is None or not device.verify_token(normalise_code(code)):
            return None
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save()
        record("auth.authenticator_replaced", actor=user, target=user.get_username())
    return device


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def verify_second_factor(user, code: str):
    """
    The device that accepts `code`, or None. Six digits are tried on the
    authenticator (which refuses a code whose time step was already used);
    anything else on the backup codes, each of which works once.
    """
    code = normalise_code(code)
    devices = AuthenticatorDevice if code.isdigit() and len(code) == 6 else BackupCodeDevice
    with transaction.atomic():
        candidates = devices.objects.select_for_update().filter(user=user, confirmed=True)
        for device in candidates:
            if device.verify_token(code):
                return device
    return None


def remaining_backup_codes(user) -> int:
    return BackupCode.objects.filter(device__user=user, device__confirmed=True).count()


# --- signing in -------------------------------------------------------------------


class SignInRefused(Exception):
    """The message is shown to the person; it never says which part was wrong."""


REFUSED_MESSAGE = _(
    "Wrong username or password, or too many failed attempts: then signing in is "
    "paused for a while."
)
LOCKED_MESSAGE = _(
    "Too many failed attempts: signing in to this account is paused for a while. "
    "An admin can lift the pause sooner."
)


def check_password(request: HttpRequest, username: str, password: str):
    """
    The password step: the account for this username and password, or
    SignInRefused. An unknown username, a wrong password, a deactivated
    account and a locked one (right password or not) get the same answer
    after the same work: exactly one password hash.
    """
    user = User.objects.filter(username=username).first()
    if user is None:
        make_password(password)  # the hash a real account would cost
        _count_unknown_failure()
        raise SignInRefused(REFUSED_MESSAGE)
    correct = password_matches(user, password) and user.is_active
    guard = guard_for(user)
    if is_refused(request, user, guard):
        record("auth.failed", target=user.get_username(), stage="password", refused="locked")
        raise SignInRefused(REFUSED_MESSAGE)
    if not correct:
        register_failure(request, user, stage="password")
        raise SignInRefused(REFUSED_MESSAGE)
    if not lockdown.may_sign_in(user):
        record("auth.refused", target=user.get_username(), reason="lockdown")
        raise SignInRefused(lockdown.REFUSED_MESSAGE)
    record("auth.password_accepted", target=user.get_username())
    return user


def complete_sign_in(request: HttpRequest, device, *, factor: str) -> None:
    """
    The second factor passed: the session becomes a verified one. Done under
    the lockdown gate, so a lockdown starting at this moment either finds the
    new session and deletes it, or is found here and refuses the sign-in.
    """
    user = request.user
    with lockdown.gate():
        allowed = lockdown.may_sign_in(user)
        if allowed:
            otp_login(request, device)
            request.session.cycle_key()  # writes the session row inside the gate
            register_success(request, user)
            record("auth.login", actor=user, target=user.get_username(), factor=factor)
    if not allowed:
        record("auth.refused", target=user.get_username(), reason="lockdown")
        raise SignInRefused(lockdown.REFUSED_MESSAGE)


def _count_unknown_failure() -> None:
    """Counted per day, not audited one by one: anyone can produce these."""
    today = timezone.localdate()
    tally = UnknownSignInTally.objects.filter(day=today)
    if tally.update(failures=F("failures") + 1):
        return
    try:
        with transaction.atomic():
            UnknownSignInTally.objects.create(day=today, failures=1)
    except IntegrityError:  # created at the same moment by another request
        tally.update(failures=F("failures") + 1)


def unknown_sign_in_failures(days: int = 7) -> int:
    since = timezone.localdate() - timedelta(days=days - 1)
    tallies = UnknownSignInTally.objects.filter(day__gte=since)
    return sum(tallies.values_list("failures", flat=True))


# --- failures and locks -------------------------------------------------------------


def guard_for(user) -> SignInGuard:
    return SignInGuard.objects.get_or_create(user=user)[0]


def is_locked(user) -> bool:
    """The account-wide lock (what admins see and lift)."""
    return guard_for(user).is_locked


def is_refused(request: HttpRequest, user, guard: SignInGuard | None = None) -> bool:
    """Whether signing in to this account from this request is refused now: this
    source is locked for it, or the whole account is and this browser is not one
    that signed in to it before."""
    guard = guard or guard_for(user)
    if throttle.source_locked(request, user, guard.generation):
        return True
    return guard.is_locked and not throttle.known_browser(request, user)


def register_failure(request: HttpRequest, user, *, stage: str) -> bool:
    """Count a wrong password or code, for this source and for the account; True
    if signing in to this account from here is now refused."""
    now = timezone.now()
    with transaction.atomic():
        guard = SignInGuard.objects.select_for_update().get_or_create(user=user)[0]
        if guard.counting_since is None or guard.counting_since < now - ACCOUNT_FAILURE_WINDOW:
            guard.failures, guard.counting_since = 0, now
        guard.failures += 1
        record("auth.failed", target=user.get_username(), stage=stage, failures=guard.failures)
        if guard.failures >= settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT and not guard.is_locked:
            guard.locked_until = now + timedelta(minutes=settings.SIGN_IN_LOCK_MINUTES)
            record(
                "auth.locked",
                target=user.get_username(),
                scope="account",
                minutes=settings.SIGN_IN_LOCK_MINUTES,
                failures=guard.failures,
            )
            # After the lock, a full count again: one more failure never re-locks.
            guard.failures, guard.counting_since = 0, None
        guard.save()
    if throttle.count_source_failure(request, user, guard.generation):
        record(
            "auth.locked",
            target=user.get_username(),
            scope="source",
            minutes=settings.SIGN_IN_LOCK_MINUTES,
            failures=settings.SIGN_IN_FAILURE_LIMIT,
        )
    return is_refused(request, user, guard)


def register_success(request: HttpRequest, user) -> None:
    guard = _clear_failures(user)
    throttle.forget_source_failures(request, user, guard.generation)


def _clear_failures(user, *, forget_sources: bool = False) -> SignInGuard:
    with transaction.atomic():
        guard = SignInGuard.objects.select_for_update().get_or_create(user=user)[0]
        guard.failures, guard.counting_since, guard.locked_until = 0, None, None
        if forget_sources:
            guard.generation += 1  # every per-source counter of the account
        guard.save()
    return guard


def unlock(user, *, actor) -> None:
    """Lift every sign-in lock of the account, account-wide and per source."""
    _clear_failures(user, forget_sources=True)
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


def reset_devices(user, *, actor) -> str:
    """
    Remove the account's authenticator, passkeys and backup codes, and expire its
    password: the owner signs in with the one-time password returned here,
    chooses their own and enrols a new device. Never for one's own account.
    """
    _refuse_own_account(user, actor)
    with transaction.atomic(), audited_by_service():
        AuthenticatorDevice.objects.filter(user=user).delete()
        BackupCodeDevice.objects.filter(user=user).delete()
        passkeys = passkeys_of(user).count()
        passkeys_of(user).delete()
        record("staff.reset_device", actor=actor, target=user.get_username(), passkeys=passkeys)
        return issue_one_time_password(user, actor=actor)


def change_role(user, role: str, *, actor) -> list[str]:
    """
    Give the account `role` in place of the roles it had (returned). Admins
    may enter the Django admin, so the admin role goes with `is_staff`. Takes
    effect at the account's next request; never for one's own account, so
    there is always an admin left to undo it.
    """
    _refuse_own_account(user, actor)
    if role not in Role.values:
        raise AccountError(str(_("“%(role)s” is not a role.") % {"role": role}))
    with transaction.atomic(), audited_by_service():
        before = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        if before == [role]:
            raise AccountError(str(_("The account already has this role.")))
        user.groups.remove(*Group.objects.filter(name__in=Role.values))
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        user.is_staff = role == Role.ADMIN
        user.save(update_fields=["is_staff"])
        record(
            "staff.role_changed", actor=actor, target=user.get_username(),
            from_role=before, to_role=role,
        )  # fmt: skip
        if role != Role.CASEWORKER:
            # No longer a caseworker: no key, no access. A caseworker again
            # later makes a new key at sign-in and waits for a grant.
            key_services.forget_caseworker(user, actor=actor, reason="role_removed")
        end_sessions_of(user)
    return before


def reactivate(user, *, actor) -> str:
    """
    Open a deactivated account again, with a one-time password (returned):
    whoever knew its old password does not get back in with it. The owner
    chooses their own, and keeps their authenticator unless it is reset too.
    """
    _refuse_own_account(user, actor)
    with transaction.atomic(), audited_by_service():
        updated = User.objects.filter(pk=user.pk, is_active=False).update(is_active=True)
        if not updated:
            raise AccountError(str(_("This account is not deactivated.")))
        user.is_active = True
        record("staff.reactivate", actor=actor, target=user.get_username())
        return issue_one_time_password(user, actor=actor)


def deactivate(user, *, actor) -> None:
    _refuse_own_account(user, actor)
    with transaction.atomic(), audited_by_service():
        user.is_active = False
        user.save(update_fields=["is_active"])
        key_services.forget_caseworker(user, actor=actor, reason="deactivated")
        sessions = end_sessions_of(user)
        record("staff.deactivate", actor=actor, target=user.get_username(), sessions=sessions)


# --- passkeys and security keys (WebAuthn) -----------------------------------------
#
# The ceremonies themselves (challenge, origin, relying party, signature and
# its counter) are django-otp-webauthn's and py_webauthn's (accounts.webauthn);
# the rules around them are here. Only what the library keeps is stored: the
# credential's id, public key, signature counter and metadata (a name, when it
# was made and last used), never a secret.

# How long after confirming their password someone may register a passkey.
PASSKEY_REGISTRATION_SECONDS = 300
_REGISTRATION_KEY = "passkey_registration_until"


def passkeys_of(user):
    from django_otp_webauthn.models import WebAuthnCredential

    return WebAuthnCredential.objects.filter(user=user).order_by("created_at", "pk")


def has_passkey(user) -> bool:
    return passkeys_of(user).filter(confirmed=True).exists()


def passkey_required(user) -> bool:
    """Whether the account's role is under the WebAuthn policy (WEBAUTHN_REQUIRED_ROLES)."""
    from accounts.roles import roles_of

    return bool(roles_of(user) & set(settings.WEBAUTHN_REQUIRED_ROLES))


def webauthn_exempt(request: HttpRequest) -> bool:
    """The request came to a host where the policy gives way to TOTP (the staff
    onion address: Tor Browser has no WebAuthn)."""
    host = request.get_host().rsplit(":", 1)[0].lower()
    return host in {h.lower() for h in settings.WEBAUTHN_EXEMPT_HOSTS}


def session_needs_passkey(request: HttpRequest) -> bool:
    """
    A verified session that the policy does not accept yet: its role needs a
    passkey, it rests on an authenticator code (or on a backup code while the
    account has no working passkey), and the request is not on an exempt host.
    Such a session reaches only the page where its owner registers a passkey.
    A backup code of someone who has one is their way in after losing it.
    """
    from django_otp_webauthn.models import WebAuthnCredential

    user = request.user
    if not (user.is_authenticated and user.is_verified()) or not passkey_required(user):
        return False
    device = user.otp_device
    if isinstance(device, WebAuthnCredential):
        return False
    if isinstance(device, BackupCodeDevice) and has_passkey(user):
        return False
    return not webauthn_exempt(request)


def allow_passkey_registration(request: HttpRequest) -> None:
    """The password was just confirmed in this session: a passkey may be added
    for a few minutes (a session stolen later cannot add the thief's)."""
    request.session[_REGISTRATION_KEY] = int(timezone.now().timestamp()) + (
        PASSKEY_REGISTRATION_SECONDS
    )


def may_register_passkey(request: HttpRequest) -> bool:
    until = request.session.get(_REGISTRATION_KEY)
    return isinstance(until, int) and until >= timezone.now().timestamp()


def confirm_for_passkey(request: HttpRequest, password: str) -> None:
    """The owner's password opens the passkey registration; WrongPassword otherwise."""
    if not password_matches(request.user, password):
        raise WrongPassword
    allow_passkey_registration(request)


def passkey_registered(request: HttpRequest, device) -> None:
    """A new credential of the signed-in person (verified by the library)."""
    with audited_by_service():
        device.name = device.name or str(_("Passkey"))
        device.save(update_fields=["name"])
    request.session.pop(_REGISTRATION_KEY, None)
    user = request.user
    record("auth.passkey_added", actor=user, target=user.get_username(), passkey=device.pk)
    if session_needs_passkey(request):
        # The policy's first registration: the session now rests on the passkey.
        otp_login(request, device)


def rename_passkey(user, pk: int, name: str) -> None:
    name = " ".join(name.split())[:64]
    if not name:
        raise AccountError(str(_("Give the passkey a name.")))
    device = passkeys_of(user).filter(pk=pk).first()
    if device is None:
        raise AccountError(str(_("There is no such passkey.")))
    with audited_by_service():
        device.name = name
        device.save(update_fields=["name"])
    record("auth.passkey_renamed", actor=user, target=user.get_username(), passkey=pk)


def remove_passkey(user, pk: int, password: str) -> None:
    """The owner removes one of their own credentials; their password confirms it."""
    if not password_matches(user, password):
        raise WrongPassword
    device = passkeys_of(user).filter(pk=pk).first()
    if device is None:
        raise AccountError(str(_("There is no such passkey.")))
    with transaction.atomic(), audited_by_service():
        device.delete()
        record("auth.passkey_removed", actor=user, target=user.get_username(), passkey=pk)


def passkey_counter_regressed(device, *, received: int) -> None:
    """
    A genuine signature from this credential came with a counter no higher
    than the one stored: two copies of the key are in use (a clone). The
    credential stops working; its owner signs in with a backup code or asks
    for a reset, and an admin sees why in the audit log.
    """
    with audited_by_service():
        type(device).objects.filter(pk=device.pk).update(confirmed=False)
    record(
        "auth.passkey_cloned",
        target=device.user.get_username(),
        passkey=device.pk,
        stored=device.sign_count,
        received=received,
    )
