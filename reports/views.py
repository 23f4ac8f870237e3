"""The coordinators' dashboard."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import staff_required
from accounts.roles import Role


@never_cache
@require_GET
@staff_required(Role.COORDINATOR, Role.ADMIN)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/dashboard.html")
