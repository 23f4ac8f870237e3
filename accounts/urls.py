"""Staff sign-in and account management, under /staff/."""

from django.urls import path

from accounts import content_access, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.sign_in, name="sign_in"),
    path("password/", views.choose_password, name="choose_password"),
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("logout/", views.sign_out, name="sign_out"),
    path("security/", views.security, name="security"),
    path("security/password/", views.security_password, name="security_password"),
    path("security/backup-codes/", views.security_backup_codes, name="security_backup_codes"),
    path("security/authenticator/", views.security_authenticator, name="security_authenticator"),
    path("security/passkeys/", views.security_passkeys, name="security_passkeys"),
    path(
        "security/passkeys/<int:pk>/name/",
        views.security_passkey_name,
        name="security_passkey_name",
    ),
    path(
        "security/passkeys/<int:pk>/remove/",
        views.security_passkey_remove,
        name="security_passkey_remove",
    ),
    path("no-role/", views.no_role, name="no_role"),
    path("accounts/", views.staff_list, name="staff_list"),
    path("accounts/new/", views.staff_new, name="staff_new"),
    path("accounts/<int:pk>/reset-device/", views.staff_reset_device, name="staff_reset_device"),
    path(
        "accounts/<int:pk>/new-password/", views.staff_issue_password, name="staff_issue_password"
    ),
    path("accounts/<int:pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("accounts/<int:pk>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("accounts/<int:pk>/role/", views.staff_role, name="staff_role"),
    path("accounts/<int:pk>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("lockdown/", views.lockdown_page, name="lockdown"),
    path("access/", content_access.access, name="access"),
    path("access/<int:pk>/grant/", content_access.grant, name="access_grant"),
    path("access/<int:pk>/revoke/", content_access.revoke, name="access_revoke"),
]
