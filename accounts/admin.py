"""
The Django admin behind the same door as the staff area.

Signing in happens only at /staff/login/ (with its lock after failures); the
admin requires a verified second factor. Device admins are removed, since they
display TOTP secrets; accounts are managed in the staff area, where every change
is audited.
"""

from functools import update_wrapper
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class StaffAdminSite(OTPAdminSite):
    site_header = "Tropa"
    site_title = "Tropa"

    def login(self, request, extra_context=None):
        return self._door(request, request.GET.get("next", "/admin/"))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            # Answer at once instead of bouncing through the admin's own login page.
            if not self.has_permission(request):
                return self._door(request, request.get_full_path())
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, view)

    def _door(self, request, next_url: str):
        if request.user.is_authenticated:
            if request.user.is_verified():
                raise PermissionDenied  # signed in, but not an admin
            return redirect("accounts:verify")
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': next_url})}")


for model in (TOTPDevice, StaticDevice, Group, get_user_model()):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(get_user_model())
class StaffUserAdmin(admin.ModelAdmin):
    list_display = ["username", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["username"]
    fields = ["username", "is_active", "groups", "last_login", "date_joined"]
    readonly_fields = ["username", "groups", "last_login", "date_joined"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
