"""The lockdown and the passkey policy, checked on every request of a signed-in person."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import lockdown, services
from audit.services import record


class LockdownMiddleware:
    """
    During a lockdown, a session of anyone who may not sign in ends at its next
    request, whatever page it asks for (staff area and Django admin alike).
    Starting the lockdown already deleted every session; this also ends one
    that appeared as it started or was restored from somewhere. Anonymous
    requests (the public form, the bot API) cost nothing here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not lockdown.may_sign_in(user):
            record("auth.refused", target=user.get_username(), reason="lockdown", stage="session")
            logout(request)
            messages.error(request, str(lockdown.REFUSED_MESSAGE))
            return redirect(settings.LOGIN_URL)
        return self.get_response(request)


class PasskeyPolicyMiddleware:
    """
    Under the WebAuthn policy (WEBAUTHN_REQUIRED_ROLES), a session that rests on
    an authenticator code reaches only the page where its owner registers a
    passkey, the library's endpoints that page calls, and signing out; every
    other page (staff area and Django admin alike) sends there first. On an
    exempt host (the staff onion address) the code is enough.
    """

    ALLOWED = ("/staff/security/passkeys/", "/staff/webauthn/", "/staff/logout/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.user.is_authenticated
            and not request.path.startswith((*self.ALLOWED, settings.STATIC_URL))
            and services.session_needs_passkey(request)
        ):
            return redirect("accounts:security_passkeys")
        return self.get_response(request)
