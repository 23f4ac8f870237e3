"""The door to every staff page: signed in, second factor passed, right role."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.roles import has_role


def staff_required(*roles: str) -> Callable:
    """
    Allow a view to staff who passed the second factor and hold one of `roles`
    (any role when none is given).

    Anonymous visitors go to sign in; a session with a password but no second
    factor goes to the 2FA step and sees nothing else; a verified account
    without the role gets 403.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.path})}")
            if not user.is_verified():
                return redirect("accounts:verify")
            if roles and not has_role(user, *roles):
                raise PermissionDenied
            if not roles and not has_role(user, "caseworker", "coordinator", "admin"):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
