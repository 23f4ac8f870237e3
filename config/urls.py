"""Root URLs (SPEC.md's URL contract)."""

from django.contrib import admin
from django.urls import include, path

from accounts.admin import StaffAdminSite
from core.views import healthz

# Every admin page requires a verified second factor (django-otp).
admin.site.__class__ = StaffAdminSite

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include("accounts.urls")),
    path("staff/webauthn/", include("accounts.webauthn_urls")),
    path("staff/", include("audit.urls")),
    path("staff/", include("reports.urls")),
    path("staff/", include("intake.staff_urls")),
    path("api/v1/", include("intake.api_urls")),
    path("staff/", include("cases.urls")),
    path("", include("intake.urls")),
]
