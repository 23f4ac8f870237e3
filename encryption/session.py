"""
The unlocked organisation keys between a caseworker's requests.

At sign-in the keys are sealed under a random session key, the sealed copy
goes into the server-side session and the session key into a cookie of its
own (HttpOnly, Secure, SameSite=Strict, no expiry: it ends with the browser
session). Neither half opens anything alone: a copy of the session store or
of Redis reveals nothing without the cookie, and the cookie nothing without
the session. Sign-out, idle expiry and lockdown delete the session, and with
it the sealed copy.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from encryption import content
from encryption.access import NO_KEYS, ContentKeys
from encryption.content import CannotOpen

SESSION_ENTRY = "content_keys"
COOKIE_NAME = "tropa_unlock"
_PENDING = "_content_cookie"


def keep_for_session(request: HttpRequest, user, organisation_keys: dict[int, bytes]) -> None:
    """Seal the unlocked keys into the session; the response carries the cookie."""
    request.__dict__.pop("_content_keys", None)
    if not organisation_keys:
        forget(request)
        return
    session_key = content.new_key()
    request.session[SESSION_ENTRY] = content.seal_session(session_key, organisation_keys, user.pk)
    setattr(request, _PENDING, content.encode_cookie_key(session_key))


def forget(request: HttpRequest) -> None:
    """Drop the keys of this session (sign-out, lost access); the cookie goes too."""
    if hasattr(request, "session"):
        request.session.pop(SESSION_ENTRY, None)
    request.__dict__.pop("_content_keys", None)
    setattr(request, _PENDING, "")


def keys_for(request: HttpRequest) -> ContentKeys:
    """The organisation keys this request may use; empty unless every half is there.
    Opened once per request: envelopes opened along the way are reused."""
    cached = getattr(request, "_content_keys", None)
    if cached is None:
        cached = request._content_keys = _open_keys(request)
    return cached


def _open_keys(request: HttpRequest) -> ContentKeys:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return NO_KEYS
    sealed = request.session.get(SESSION_ENTRY)
    session_key = content.decode_cookie_key(request.COOKIES.get(COOKIE_NAME, ""))
    if not sealed or session_key is None:
        return NO_KEYS
    try:
        return ContentKeys(content.open_session(session_key, sealed, user.pk))
    except (CannotOpen, ValueError):
        return NO_KEYS


def holds_keys(request: HttpRequest) -> bool:
    return bool(request.session.get(SESSION_ENTRY)) and bool(request.COOKIES.get(COOKIE_NAME))


class ContentKeyCookieMiddleware:
    """Sets or deletes the session-key cookie that a view asked for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        pending = getattr(request, _PENDING, None)
        if pending:
            response.set_cookie(
                COOKIE_NAME,
                pending,
                max_age=None,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Strict",
            )
        elif pending == "" and COOKIE_NAME in request.COOKIES:
            response.delete_cookie(COOKIE_NAME, samesite="Strict")
        return response
