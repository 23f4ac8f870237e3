"""Public views. Nothing here stores or logs who the visitor is."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def request_form(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/form.html")
