"""The door to every staff page: signed in, second factor passed, right role."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.roles import has_role
from accounts.throttle import known_account
from encryption import drafts

# Where a form posted after its session ended sends the person back, when it
# does not say (after_session_ends): the start page of their role.
STAFF_HOME = "/staff/"


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
            if not user.is_authenticated and request.method == "POST":
                return _session_ended(request, view, kwargs)
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


@dataclass(frozen=True)
class AfterSessionEnds:
    """Where a form's person goes back to, and what they typed into it that is kept."""

    landing: str | None  # a URL name; None: the page the form was posted to
    form: str = ""
    fields: tuple[str, ...] = ()


def after_session_ends(
    landing: str | None = None, *, form: str = "", fields: tuple[str, ...] = ()
) -> Callable:
    """
    Mark a staff form view (innermost decorator) for a POST that meets an ended
    session: after sign-in its person lands on `landing` (a GET page taking
    the view's own URL arguments, e.g. the case page for a reply), and the
    text of `fields` comes back into the box of `form` there (encryption.drafts).
    """

    def mark(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        view.after_session_ends = AfterSessionEnds(landing, form, tuple(fields))
        return view

    return mark


def _session_ended(request: HttpRequest, view: Callable, kwargs: dict) -> HttpResponse:
    """
    A form posted by a browser whose session ended: nothing is done, the typed
    text is kept sealed for the page it belongs to, and the sign-in page says
    why it is shown; `next` is that page (a GET page, never a POST-only view).
    """
    plan = getattr(view, "after_session_ends", None)
    if plan is None:
        landing = STAFF_HOME
    elif plan.landing is None:
        landing = request.path
    else:
        landing = reverse(plan.landing, kwargs=kwargs)
    response = redirect(f"{settings.LOGIN_URL}?{urlencode({'next': landing})}")
    typed = {plan.form: {f: request.POST.get(f, "") for f in plan.fields}} if plan else {}
    # A browser known for one account keeps the draft for that account only.
    if typed and drafts.keep(response, landing, typed, owner=known_account(request)):
        messages.warning(
            request,
            _(
                "Your session ended, so nothing was sent or changed. What you wrote is "
                "kept: sign in again and it will be back in its box."
            ),
        )
    else:
        messages.warning(
            request,
            _("Your session ended, so nothing was changed. Sign in again to go on."),
        )
    return response
