"""
Staff sign-in (password, then a second factor), enrolment of an authenticator,
the owner's own security page, and the management of accounts by admins.
"""

from base64 import b32encode
from collections.abc import Callable

import segno
from csp.constants import SELF
from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import lockdown, services, throttle, webauthn
from accounts.decorators import staff_required
from accounts.forms import (
    CodeForm,
    LockdownForm,
    NewStaffForm,
    PasskeyNameForm,
    PasswordChangeForm,
    PasswordConfirmForm,
    ReplaceAuthenticatorForm,
    RoleForm,
    SignInForm,
)
from accounts.models import AuthenticatorDevice, BackupCodeDevice
from accounts.roles import Role, home_url
from audit.services import record
from core import confirmation
from encryption import services as key_services
from encryption import session as key_session

NEXT_KEY = "staff_next"
REPLACING_KEY = "replacing_authenticator"
User = get_user_model()


def _safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/too_many.html", status=429)


def _next_step(user) -> str:
    """After the password: choose one's own (if it was issued), then the second factor."""
    if services.must_choose_password(user):
        return "accounts:choose_password"
    if services.has_confirmed_totp(user):
        return "accounts:verify"
    return "accounts:enrol"


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and user.is_verified():
        return redirect(home_url(user))
    if request.method == "POST" and throttle.over_rate_limit(request):
        return _too_many(request)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.check_password(
                request, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except services.SignInRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            next_url = _safe_next(request, request.POST.get("next"))
            # The password was checked by services.check_password, not authenticate().
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            services.unlock_content(request, user, form.cleaned_data["password"])
            if services.passkey_required(user) and not services.has_passkey(user):
                services.allow_passkey_registration(request)  # walked to it after the code
            if next_url:
                request.session[NEXT_KEY] = next_url
            return redirect(_next_step(user))
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": _safe_next(request, request.GET.get("next")) or ""},
    )


def _second_factor_stage(request: HttpRequest) -> HttpResponse | None:
    """Where a request that is not at the second-factor stage belongs instead."""
    if not request.user.is_authenticated:
        return redirect("accounts:sign_in")
    if request.user.is_verified():
        return redirect(home_url(request.user))
    if services.must_choose_password(request.user):
        return redirect("accounts:choose_password")
    return None


def _refuse_locked(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.error(request, str(services.LOCKED_MESSAGE))
    return redirect("accounts:sign_in")


def _complete_sign_in(request: HttpRequest, device, factor: str) -> HttpResponse | None:
    """The second factor passed; a response only if the sign-in is refused after all."""
    try:
        services.complete_sign_in(request, device, factor=factor)
    except services.SignInRefused as refusal:
        auth_logout(request)
        messages.error(request, str(refusal))
        return redirect("accounts:sign_in")
    return None


@never_cache
@require_http_methods(["GET", "POST"])
def choose_password(request: HttpRequest) -> HttpResponse:
    """A password issued by an admin opens this page only: its owner chooses their own."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:sign_in")
    if not services.must_choose_password(user):
        return redirect(home_url(user) if user.is_verified() else _next_step(user))
    form = PasswordChangeForm(request.POST or None, issued=True)
    if request.method == "POST":
        if throttle.over_rate_limit(request):
            return _too_many(request)
        if form.is_valid() and _change_password(request, form, "choose_password"):
            messages.success(request, _("Your own password is set."))
            return redirect(_next_step(user))
        if not request.user.is_authenticated:  # signed out: too many wrong passwords
            return redirect("accounts:sign_in")
    return render(request, "accounts/choose_password.html", {"form": form})


def _change_password(request: HttpRequest, form: PasswordChangeForm, stage: str) -> bool:
    """Change the signed-in person's password from a valid form; False with the
    form's errors set (or the session ended) otherwise."""
    data = form.cleaned_data
    try:
        services.change_own_password(
            request.user, data["current_password"], data["new_password"], request=request
        )
    except services.WrongPassword:
        if services.register_failure(request, request.user, stage=stage):
            auth_logout(request)
            messages.error(request, str(services.LOCKED_MESSAGE))
        else:
            form.add_error("current_password", form.wrong_current)
        return False
    except ValidationError as error:
        form.add_error("new_password", error)
        return False
    return True


# The two pages that run the passkey script (django-otp-webauthn's, from our
# static files): it fetches its ceremony from our own origin, nowhere else.
# Every other page keeps connect-src at 'none' (default-src).
passkey_script = csp_update({"connect-src": [SELF]})


@never_cache
@require_http_methods(["GET", "POST"])
@passkey_script
def verify(request: HttpRequest) -> HttpResponse:
    elsewhere = _second_factor_stage(request)
    if elsewhere:
        return elsewhere
    user = request.user
    if not services.has_confirmed_totp(user):
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if throttle.over_rate_limit(request):
            return _too_many(request)
        if form.is_valid():
            if services.is_refused(request, user):
                return _refuse_locked(request)
            code = form.cleaned_data["code"]
            if _passkey_instead_of(request, code):
                form.add_error("code", str(PASSKEY_NEEDED))
                return _verify_page(request, form, status=400)
            device = services.verify_second_factor(user, code)
            if device is None:
                if services.register_failure(request, user, stage="code"):
                    return _refuse_locked(request)
                form.add_error("code", _("This code is not valid, or it was already used."))
            else:
                return _after_code(request, device)
    return _verify_page(request, form)


PASSKEY_NEEDED = gettext_lazy(
    "Your role signs in with a passkey or security key: use it above. An authenticator "
    "code is not enough here; a backup code is."
)


def _passkey_policy_applies(request: HttpRequest) -> bool:
    user = request.user
    return (
        services.passkey_required(user)
        and services.has_passkey(user)
        and not services.webauthn_exempt(request)
    )


def _passkey_instead_of(request: HttpRequest, code: str) -> bool:
    """An authenticator code (six digits) where the policy wants the passkey."""
    typed = services.normalise_code(code)
    return typed.isdigit() and len(typed) == 6 and _passkey_policy_applies(request)


def _verify_page(request: HttpRequest, form, status: int = 200) -> HttpResponse:
    user = request.user
    context = {
        "form": form,
        "passkey": services.has_passkey(user),
        "passkey_only": _passkey_policy_applies(request),
        "exempt_host": services.passkey_required(user) and services.webauthn_exempt(request),
        "webauthn_config": webauthn.configuration(request),
    }
    return render(request, "accounts/verify.html", context, status=status)


def _after_code(request: HttpRequest, device) -> HttpResponse:
    backup = isinstance(device, BackupCodeDevice)
    refused = _complete_sign_in(request, device, "backup_code" if backup else "totp")
    if refused:
        return refused
    user = request.user
    if backup:
        left = services.remaining_backup_codes(user)
        messages.warning(
            request, _("You signed in with a backup code; %(left)s are left.") % {"left": left}
        )
    response = redirect(request.session.pop(NEXT_KEY, None) or home_url(user))
    throttle.remember_browser(response, user)
    return response


def _qr_svg(uri: str) -> str:
    # Drawn here, inline: the secret never leaves our server.
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def _scan_context(device: AuthenticatorDevice) -> dict:
    secret = b32encode(device.bin_key).decode()
    return {
        "qr_svg": _qr_svg(device.config_url),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    elsewhere = _second_factor_stage(request)
    if elsewhere:
        return elsewhere
    user = request.user
    if services.has_confirmed_totp(user):
        return redirect("accounts:verify")
    device = services.pending_totp_device(user)
    form = CodeForm(request.POST or None, enrolling=True)
    if request.method == "POST":
        if throttle.over_rate_limit(request):
            return _too_many(request)
        if form.is_valid():
            if services.is_refused(request, user):
                return _refuse_locked(request)
            codes = services.confirm_enrolment(user, form.cleaned_data["code"])
            if codes is None:
                if services.register_failure(request, user, stage="enrolment"):
                    return _refuse_locked(request)
                form.add_error("code", _("This code does not match. Check the time on your phone."))
            else:
                device = AuthenticatorDevice.objects.get(pk=device.pk)
                refused = _complete_sign_in(request, device, "totp")
                if refused:
                    return refused
                next_url = request.session.pop(NEXT_KEY, None) or home_url(user)
                response = render(
                    request, "accounts/backup_codes.html", {"codes": codes, "next": next_url}
                )
                throttle.remember_browser(response, user)
                return response
    context = {"form": form, "action": "accounts:enrol", **_scan_context(device)}
    return render(request, "accounts/enrol.html", context)


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record("auth.logout", actor=request.user, target=request.user.get_username())
    auth_logout(request)
    key_session.forget(request)
    messages.info(request, _("You are signed out."))
    return redirect("accounts:sign_in")


# --- the owner's own security page ---------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@passkey_script
@staff_required()
def security_passkeys(request: HttpRequest) -> HttpResponse:
    """
    Add a passkey or security key: the password first (a stolen session cannot
    add the thief's key), then the browser's own dialog, started by the
    library's script. The policy sends here, right after signing in, anyone
    whose role needs a passkey and who has none yet.
    """
    user = request.user
    form = PasswordConfirmForm(request.POST or None, auto_id="passkey_%s")
    status = 200
    if request.method == "POST":
        if throttle.over_rate_limit(request):
            return _too_many(request)
        if form.is_valid():
            try:
                services.confirm_for_passkey(request, form.cleaned_data["password"])
            except services.WrongPassword:
                ended = _wrong_password(request, form)
                if ended:
                    return ended
                status = 400
            else:
                return redirect("accounts:security_passkeys")
        else:
            status = 400
    context = {
        "form": form,
        "may_register": services.may_register_passkey(request),
        "walked_here": services.session_needs_passkey(request),
        "done_url": home_url(user) if services.session_needs_passkey(request) else "",
        "webauthn_config": webauthn.configuration(request),
    }
    return render(request, "accounts/passkeys.html", context, status=status)


@never_cache
@require_POST
@staff_required()
def security_passkey_name(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(services.passkeys_of(request.user), pk=pk)  # only one's own
    form = PasskeyNameForm(request.POST)
    try:
        if not form.is_valid():
            raise services.AccountError(_("Give the passkey a name."))
        services.rename_passkey(request.user, pk, form.cleaned_data["name"])
    except services.AccountError as error:
        return _security_page(request, passkey_errors=[str(error)], status=400)
    messages.success(request, _("The passkey is renamed."))
    return redirect("accounts:security")


@never_cache
@require_POST
@staff_required()
def security_passkey_remove(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(services.passkeys_of(request.user), pk=pk)  # only one's own
    form = PasswordConfirmForm(request.POST)
    error = _("This is not your current password.")
    if form.is_valid():
        try:
            services.remove_passkey(request.user, pk, form.cleaned_data["password"])
        except services.WrongPassword:
            if services.register_failure(request, request.user, stage="security"):
                return _refuse_locked(request)
        except services.AccountError as refusal:
            error = str(refusal)
        else:
            messages.success(request, _("The passkey is removed; it no longer works here."))
            return redirect("accounts:security")
    return _security_page(request, passkey_errors=[error], status=400)


def _security_page(
    request: HttpRequest,
    *,
    password_form=None,
    codes_form=None,
    passkey_errors=None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    passkeys = list(services.passkeys_of(user))
    for device in passkeys:
        device.name_form = PasskeyNameForm(
            initial={"name": device.name}, auto_id=f"passkey{device.pk}_%s"
        )
        device.remove_form = PasswordConfirmForm(auto_id=f"remove{device.pk}_%s")
    context = {
        "passkeys": passkeys,
        "passkey_errors": passkey_errors or [],
        "passkey_required": services.passkey_required(user),
        "password_form": password_form or PasswordChangeForm(auto_id="password_%s"),
        "codes_form": codes_form or PasswordConfirmForm(auto_id="codes_%s"),
        "authenticator": services.authenticator_of(user),
        "left": services.remaining_backup_codes(user),
    }
    return render(request, "accounts/security.html", context, status=status)


@never_cache
@require_GET
@staff_required()
def security(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own password, authenticator and backup codes."""
    return _security_page(request)


@never_cache
@require_POST
@staff_required()
def security_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST, auto_id="password_%s")
    if form.is_valid() and _change_password(request, form, "security"):
        messages.success(
            request, _("Your password is changed. Your other sessions, if any, have ended.")
        )
        return redirect("accounts:security")
    if not request.user.is_authenticated:
        return redirect("accounts:sign_in")
    return _security_page(request, password_form=form, status=400)


def _wrong_password(request: HttpRequest, form, field: str = "password") -> HttpResponse | None:
    """Count a wrong password given on the security page; a response if it ends the session."""
    if services.register_failure(request, request.user, stage="security"):
        return _refuse_locked(request)
    form.add_error(field, _("This is not your current password."))
    return None


@never_cache
@require_POST
@staff_required()
def security_backup_codes(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST, auto_id="codes_%s")
    if form.is_valid():
        try:
            codes = services.renew_backup_codes(request.user, form.cleaned_data["password"])
        except services.WrongPassword:
            ended = _wrong_password(request, form)
            if ended:
                return ended
        else:
            return render(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "next": "/staff/security/"},
            )
    return _security_page(request, codes_form=form, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required()
def security_authenticator(request: HttpRequest) -> HttpResponse:
    """Replace one's own authenticator: password and a current code, then the new device."""
    user = request.user
    pending = AuthenticatorDevice.objects.filter(user=user, confirmed=False).first()
    if request.POST.get("stage") == "confirm" and pending and request.session.get(REPLACING_KEY):
        return _finish_replacement(request, pending)
    form = ReplaceAuthenticatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.begin_authenticator_replacement(
                user, form.cleaned_data["password"], form.cleaned_data["code"]
            )
        except services.WrongPassword:
            ended = _wrong_password(request, form)
            if ended:
                return ended
        except services.AccountError as error:
            if services.register_failure(request, user, stage="security"):
                return _refuse_locked(request)
            form.add_error("code", str(error))
        else:
            request.session[REPLACING_KEY] = True
            return _scan_page(request, device, CodeForm(enrolling=True))
    status = 400 if form.errors else 200
    return render(request, "accounts/replace_authenticator.html", {"form": form}, status=status)


def _scan_page(request: HttpRequest, device, form, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "action": "accounts:security_authenticator",
        "replacing": True,
        **_scan_context(device),
    }
    return render(request, "accounts/enrol.html", context, status=status)


def _finish_replacement(request: HttpRequest, pending) -> HttpResponse:
    form = CodeForm(request.POST, enrolling=True)
    if form.is_valid():
        device = services.finish_authenticator_replacement(request.user, form.cleaned_data["code"])
        if device is not None:
            request.session.pop(REPLACING_KEY, None)
            otp_login(request, device)  # this session now rests on the new device
            messages.success(
                request, _("Your new authenticator is set up; the old one no longer works.")
            )
            return redirect("accounts:security")
        form.add_error("code", _("This code does not match. Check the time on your phone."))
    return _scan_page(request, pending, form, status=400)


@never_cache
def no_role(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated or not request.user.is_verified():
        return redirect("accounts:sign_in")
    return render(request, "accounts/no_role.html", status=403)


# --- account management (admins) ---------------------------------------------


@never_cache
@staff_required(Role.ADMIN)
def staff_list(request: HttpRequest) -> HttpResponse:
    enrolled = AuthenticatorDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    people = (
        User.objects.annotate(enrolled=Exists(enrolled))
        .prefetch_related(Prefetch("groups"))
        .select_related("sign_in_guard", "issued_password")
        .order_by("-is_active", "username")
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    labels = dict(Role.choices)
    for person in page:
        names = sorted(group.name for group in person.groups.all())
        person.role_names = [str(labels.get(name, name)) for name in names]
        guard = getattr(person, "sign_in_guard", None)
        person.locked = bool(guard and guard.is_locked)
        person.issued = hasattr(person, "issued_password")
    context = {"page": page, "unknown_failures": services.unknown_sign_in_failures(days=7)}
    return render(request, "accounts/staff_list.html", context)


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = NewStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = services.add_staff_pending_enrolment(
            form.cleaned_data["username"], form.cleaned_data["role"], actor=request.user
        )
        return render(
            request,
            "accounts/password_issued.html",
            {"person": issued.user, "password": issued.password, "reason": "new"},
        )
    return render(request, "accounts/staff_new.html", {"form": form})


def _person(pk: int):
    return get_object_or_404(User, pk=pk)


def _confirmed(request: HttpRequest, person, action: str, *choice: str) -> bool:
    """Irreversible actions take a second page: its form brings back the
    one-time token that page issued for this action on this account."""
    return request.method == "POST" and confirmation.redeem(
        request, f"account.{action}", [person.pk, *choice]
    )


def _confirm_page(request: HttpRequest, person, action: str) -> HttpResponse:
    return render(
        request,
        "accounts/confirm.html",
        {
            "person": person,
            "action": action,
            "confirmation": confirmation.issue(request, f"account.{action}", [person.pk]),
            # Said before the admin confirms: a reset ends the account's access to content.
            "has_content_access": key_services.caseworker_key(person) is not None,
        },
    )


def _issue_after_confirmation(
    request: HttpRequest, pk: int, action: str, act: Callable, reason: str
) -> HttpResponse:
    """Ask first (no JavaScript: a second page), then act on the account and show
    the one-time password the act issued, once."""
    person = _person(pk)
    if not _confirmed(request, person, action):
        return _confirm_page(request, person, action)
    try:
        password = act(person, actor=request.user)
    except services.AccountError as error:
        messages.error(request, str(error))
        return redirect("accounts:staff_list")
    return render(
        request,
        "accounts/password_issued.html",
        {"person": person, "password": password, "reason": reason},
    )


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_reset_device(request: HttpRequest, pk: int) -> HttpResponse:
    return _issue_after_confirmation(
        request, pk, "reset_device", services.reset_devices, "reset_device"
    )


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_issue_password(request: HttpRequest, pk: int) -> HttpResponse:
    return _issue_after_confirmation(
        request, pk, "issue_password", services.issue_one_time_password, "issue_password"
    )


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    if not _confirmed(request, person, "deactivate"):
        return _confirm_page(request, person, "deactivate")
    try:
        services.deactivate(person, actor=request.user)
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(name)s can no longer sign in.") % {"name": person.username})
    return redirect("accounts:staff_list")


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_role(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the new role, confirm it on a second page, then change it."""
    person = _person(pk)
    current = sorted(person.groups.filter(name__in=Role.values).values_list("name", flat=True))
    form = RoleForm(request.POST or None, initial={"role": current[0] if current else None})
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["role"]
        if current == [role]:
            form.add_error("role", _("The account already has this role."))
        elif not _confirmed(request, person, "change_role", role):
            context = {
                "person": person, "action": "change_role", "role": role,
                "role_label": Role(role).label, "current": [Role(n).label for n in current],
                "confirmation": confirmation.issue(
                    request, "account.change_role", [person.pk, role]
                ),
            }  # fmt: skip
            return render(request, "accounts/confirm.html", context)
        else:
            try:
                services.change_role(person, role, actor=request.user)
            except services.AccountError as error:
                form.add_error("role", str(error))
            else:
                done = {"name": person.username, "role": Role(role).label}
                messages.success(request, _("%(name)s is now: %(role)s.") % done)
                return redirect("accounts:staff_list")
    context = {"person": person, "form": form, "current": [Role(n).label for n in current]}
    return render(request, "accounts/change_role.html", context, status=400 if form.errors else 200)


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _issue_after_confirmation(request, pk, "reactivate", services.reactivate, "reactivated")


@staff_required(Role.ADMIN)
@require_POST
def staff_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    services.unlock(person, actor=request.user)
    messages.success(request, _("%(name)s can sign in again.") % {"name": person.username})
    return redirect("accounts:staff_list")


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def lockdown_page(request: HttpRequest) -> HttpResponse:
    """Start the lockdown (with a ticked confirmation); lifting takes two admins."""
    current = lockdown.in_force()
    if current is not None:
        return _lockdown_in_force(request, current)
    form = LockdownForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        actor = request.user
        # This session ends with all the others; sign out first so the
        # response does not try to save a session that no longer exists.
        auth_logout(request)
        try:
            ended = lockdown.start(actor=actor)
        except lockdown.LockdownError as error:
            messages.error(request, str(error))
        else:
            messages.warning(
                request,
                _(
                    "Lockdown in force: your session and %(count)s other session(s) "
                    "ended. Only admins can sign in until it is lifted."
                )
                % {"count": ended},
            )
        return redirect("accounts:sign_in")
    return render(
        request,
        "accounts/lockdown.html",
        {"lockdown": None, "form": form},
        status=400 if form.errors else 200,
    )


def _lockdown_in_force(request: HttpRequest, current) -> HttpResponse:
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                lockdown.confirm_lift(actor=request.user)
                messages.success(request, _("The lockdown is lifted: staff can sign in again."))
            else:
                lockdown.request_lift(actor=request.user)
                messages.success(
                    request,
                    _(
                        "You asked to lift the lockdown. Another admin must confirm it "
                        "within the hour."
                    ),
                )
        except lockdown.LockdownError as error:
            messages.error(request, str(error))
        return redirect("accounts:lockdown")
    pending = lockdown.lift_request_pending(current)
    context = {
        "lockdown": current,
        "lift_pending": pending,
        "asked_by_me": pending and current.lift_requested_by == request.user.get_username(),
    }
    return render(request, "accounts/lockdown.html", context)
