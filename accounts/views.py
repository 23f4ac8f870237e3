"""
Staff sign-in (password, then a second factor), enrolment of an authenticator,
backup codes, and the management of accounts by admins.
"""

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import get_random_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import lockdown, services
from accounts.decorators import staff_required
from accounts.forms import CodeForm, LockdownForm, NewStaffForm, SignInForm
from accounts.roles import Role, home_url
from audit.services import record

NEXT_KEY = "staff_next"
User = get_user_model()


def _safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and user.is_verified():
        return redirect(home_url(user))
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
            auth_login(request, user)
            if next_url:
                request.session[NEXT_KEY] = next_url
            if services.has_confirmed_totp(user):
                return redirect("accounts:verify")
            return redirect("accounts:enrol")
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
    return None


def _refuse_locked(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.error(request, str(services.LOCKED_MESSAGE))
    return redirect("accounts:sign_in")


def _refuse_lockdown(request: HttpRequest) -> HttpResponse:
    record("auth.refused", target=request.user.get_username(), reason="lockdown")
    auth_logout(request)
    messages.error(request, str(lockdown.REFUSED_MESSAGE))
    return redirect("accounts:sign_in")


def _complete_sign_in(request: HttpRequest, device, factor: str) -> None:
    otp_login(request, device)
    request.session.cycle_key()
    services.register_success(request.user)
    record("auth.login", actor=request.user, target=request.user.get_username(), factor=factor)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    elsewhere = _second_factor_stage(request)
    if elsewhere:
        return elsewhere
    user = request.user
    if not services.has_confirmed_totp(user):
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.is_locked(user):
            return _refuse_locked(request)
        if not lockdown.may_sign_in(user):
            return _refuse_lockdown(request)
        device = services.verify_second_factor(user, form.cleaned_data["code"])
        if device is None:
            if services.register_failure(user, stage="code"):
                return _refuse_locked(request)
            form.add_error("code", _("This code is not valid, or it was already used."))
        else:
            backup = isinstance(device, StaticDevice)
            _complete_sign_in(request, device, "backup_code" if backup else "totp")
            if backup:
                left = services.remaining_backup_codes(user)
                messages.warning(
                    request,
                    _("You signed in with a backup code; %(left)s are left.") % {"left": left},
                )
            return redirect(request.session.pop(NEXT_KEY, None) or home_url(user))
    return render(request, "accounts/verify.html", {"form": form})


def _qr_svg(uri: str) -> str:
    # Drawn here, inline: the secret never leaves our server.
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")


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
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.is_locked(user):
            return _refuse_locked(request)
        if not lockdown.may_sign_in(user):
            return _refuse_lockdown(request)
        codes = services.confirm_enrolment(user, form.cleaned_data["code"])
        if codes is None:
            if services.register_failure(user, stage="enrolment"):
                return _refuse_locked(request)
            form.add_error("code", _("This code does not match. Check the time on your phone."))
        else:
            device = TOTPDevice.objects.get(pk=device.pk)
            _complete_sign_in(request, device, "totp")
            return render(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "next": request.session.pop(NEXT_KEY, None) or home_url(user)},
            )
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
    )


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record("auth.logout", actor=request.user, target=request.user.get_username())
    auth_logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("accounts:sign_in")


@never_cache
@staff_required()
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own backup codes: how many are left, and new ones."""
    if request.method == "POST":
        codes = services.replace_backup_codes(request.user)
        record("auth.backup_codes_replaced", actor=request.user, target=request.user.username)
        return render(
            request, "accounts/backup_codes.html", {"codes": codes, "next": home_url(request.user)}
        )
    left = services.remaining_backup_codes(request.user)
    return render(request, "accounts/security.html", {"left": left})


@never_cache
def no_role(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated or not request.user.is_verified():
        return redirect("accounts:sign_in")
    return render(request, "accounts/no_role.html", status=403)


# --- account management (admins) ---------------------------------------------


@never_cache
@staff_required(Role.ADMIN)
def staff_list(request: HttpRequest) -> HttpResponse:
    enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    people = (
        User.objects.annotate(enrolled=Exists(enrolled))
        .prefetch_related(Prefetch("groups"))
        .select_related("sign_in_guard")
        .order_by("-is_active", "username")
    )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    for person in page:
        person.role_names = sorted(group.name for group in person.groups.all())
        guard = getattr(person, "sign_in_guard", None)
        person.locked = bool(guard and guard.is_locked)
    return render(request, "accounts/staff_list.html", {"page": page})


@never_cache
@staff_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = NewStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = get_random_string(20)
        person = services.add_staff_pending_enrolment(
            form.cleaned_data["username"], form.cleaned_data["role"], password, actor=request.user
        )
        return render(
            request, "accounts/staff_created.html", {"person": person, "password": password}
        )
    return render(request, "accounts/staff_new.html", {"form": form})


def _person(pk: int):
    return get_object_or_404(User, pk=pk)


@staff_required(Role.ADMIN)
@require_POST
def staff_reset_device(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    services.reset_devices(person, actor=request.user)
    messages.success(
        request,
        _(
            "%(name)s's authenticator and backup codes were removed; "
            "they set up a new one at next sign-in."
        )
        % {"name": person.username},
    )
    return redirect("accounts:staff_list")


@staff_required(Role.ADMIN)
@require_POST
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    if person == request.user:
        messages.error(request, _("You cannot deactivate your own account."))
    else:
        services.deactivate(person, actor=request.user)
        messages.success(request, _("%(name)s can no longer sign in.") % {"name": person.username})
    return redirect("accounts:staff_list")


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
    """Start (with a typed confirmation) or lift the emergency lockdown."""
    current = lockdown.in_force()
    form = LockdownForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if current is not None:
            lockdown.lift(actor=request.user)
            messages.success(request, _("The lockdown is lifted: staff can sign in again."))
            return redirect("accounts:lockdown")
        if form.is_valid():
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
        {"lockdown": current, "form": form},
        status=400 if form.errors else 200,
    )
