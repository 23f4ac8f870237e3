"""The lockdown, checked on every request of a signed-in person."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import lockdown
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
