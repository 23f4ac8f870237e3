"""Request middleware shared by every part of the site."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation


class SiteLanguageMiddleware:
    """
    Russian unless the visitor chose otherwise (the language cookie set by the
    switch). Unlike Django's LocaleMiddleware it ignores Accept-Language: Tor
    Browser always sends en-US, and the organisation's audience reads Russian.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class BrowserPolicyMiddleware:
    """
    Headers that keep the browser from talking to anyone but us, beside the
    Content-Security-Policy (django-csp): no camera, microphone, location or
    other powerful feature, no embedding of our resources elsewhere.
    """

    HEADERS = {
        "Permissions-Policy": (
            "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
            "microphone=(), payment=(), usb=()"
        ),
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Permitted-Cross-Domain-Policies": "none",
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class RefuseNullCharactersMiddleware:
    """
    A NUL character in the path or the query string is answered 400 at once.
    Nothing legitimate sends one, and PostgreSQL refuses it in any query, so
    it would otherwise reach the database (an admin filter, a case reference)
    and end as a 500. Form fields refuse it themselves, with a message.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values)
            for name, values in request.GET.lists()
        ):
            return render(request, "400.html", status=400)
        return self.get_response(request)
