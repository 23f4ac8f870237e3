"""
The Django admin behind the same door as the staff area.

Signing in happens only at /staff/login/ (with its locks after failures); the
admin requires a verified second factor and, during a lockdown, a role that
may still sign in. Accounts are read-only here and devices are not shown at
all: accounts change only through the staff area's pages and
accounts.services, where every change is audited (and a password change is
the owner's own, at /staff/security/).
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
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from accounts import lockdown


class StaffAdminSite(OTPAdminSite):
    site_header = "Tropa"
    site_title = "Tropa"

    def has_permission(self, request):
        return super().has_permission(request) and lockdown.may_sign_in(request.user)

    def login(self, request, extra_context=None):
        return self._door(request, request.GET.get("next", "/admin/"))

    def password_change(self, request, extra_context=None):
        # One place changes a password, audited: the owner's security page.
        return redirect("accounts:security")

    def password_change_done(self, request, extra_context=None):
        return redirect("accounts:security")

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


# Passkeys are added, renamed and removed only by their owner at
# /staff/security/, and removed by an admin only through the confirmed reset
# (which also expires the password and drops content access): django-otp-webauthn's
# own admin pages, which could delete or switch off anyone's, are not offered.
for model in (Group, get_user_model(), WebAuthnCredential, WebAuthnAttestation):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(get_user_model())
class StaffUserAdmin(admin.ModelAdmin):
    list_display = ["username", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["username"]
    fields = ["username", "is_active", "is_staff", "groups", "last_login", "date_joined"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
