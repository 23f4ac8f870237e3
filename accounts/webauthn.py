"""
Passkeys and security keys (WebAuthn) as a second factor, with django-otp-webauthn.

The ceremonies are the library's: its views hand out a challenge (kept in the
session and taken out of it before anything is checked, so an assertion is
never accepted twice) and py_webauthn checks the answer: the challenge, the
origin the browser was on (WEBAUTHN_ORIGINS), the relying party id
(WEBAUTHN_RP_ID), the signature under the stored public key, and the
signature counter. What is ours: who may start a ceremony, what a success does
to the session (accounts.services.complete_sign_in, as for a code), failures
counted like wrong codes, and the audit of every change and of a cloned key.
"""

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)
from webauthn import base64url_to_bytes, verify_authentication_response
from webauthn.helpers import parse_authentication_credential_json, parse_authenticator_data
from webauthn.helpers.exceptions import InvalidAuthenticationResponse

from accounts import services, throttle
from accounts.roles import Role, has_role, home_url

NEXT_KEY = "staff_next"  # as in accounts.views


class PasskeyCloned(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "credential_cloned"
    default_detail = _(
        "This passkey was used from two places, so it no longer works. Sign in with a "
        "backup code, or ask an admin to reset your sign-in."
    )


class Helper(WebAuthnHelper):
    """The library's helper, with the relying party from our settings (read at
    each ceremony) and a counter that goes back treated as a cloned key."""

    def get_relying_party_domain(self) -> str:
        return settings.WEBAUTHN_RP_ID

    def get_allowed_origins(self) -> list[str]:
        return list(settings.WEBAUTHN_ORIGINS)

    def authenticate_complete(self, user, state: dict, data: dict):
        try:
            return super().authenticate_complete(user=user, state=state, data=data)
        except InvalidAuthenticationResponse:
            self._note_clone(user, state, data)
            raise

    def _note_clone(self, user, state: dict, data: dict) -> None:
        """
        py_webauthn refuses a counter no higher than the stored one before it
        checks the signature. Only a response that passes every other check
        (origin, challenge, signature) is a clone; anything else is just refused.
        """
        from django_otp_webauthn.models import WebAuthnCredential

        credential = parse_authentication_credential_json(data)
        device = WebAuthnCredential.objects.filter(
            credential_id_sha256=WebAuthnCredential.get_credential_id_sha256(credential.raw_id),
            user=user,
        ).first()
        if device is None or device.sign_count == 0:
            return
        received = parse_authenticator_data(credential.response.authenticator_data).sign_count
        if received > device.sign_count:
            return
        try:
            verify_authentication_response(
                credential=credential,
                credential_current_sign_count=0,  # everything but the counter
                credential_public_key=device.public_key,
                expected_challenge=base64url_to_bytes(state["challenge"]),
                expected_rp_id=self.get_relying_party_domain(),
                expected_origin=self.get_allowed_origins(),
                require_user_verification=state["require_user_verification"],
            )
        except InvalidAuthenticationResponse:
            return
        services.passkey_counter_regressed(device, received=received)
        raise PasskeyCloned()


def _staff(user) -> bool:
    return has_role(user, *Role.values)


# --- registering one's own passkey ---------------------------------------------------


class _Registration:
    """Only a signed-in member of staff, past the second factor, who confirmed
    their password a few minutes ago in this session (or who is being walked to
    their first passkey by the policy, right after signing in)."""

    def check_can_register(self):
        request = self.request
        user = request.user
        if not (user.is_verified() and _staff(user)):
            raise exceptions.NotAuthenticated()
        if not services.may_register_passkey(request):
            raise exceptions.NotVerified(detail=str(_CONFIRM_FIRST))


class RegistrationBegin(_Registration, BeginCredentialRegistrationView):
    pass


class RegistrationComplete(_Registration, CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        user = self.get_user()
        state = self.get_state()
        with _library_errors():
            device = self.get_helper().register_complete(
                user=user, state=state, data=self.request.data
            )
        services.passkey_registered(self.request, device)
        return JsonResponse({"id": device.pk})


# --- signing in with it ---------------------------------------------------------------


class _Authentication:
    """After the password and before the second factor, like the code page."""

    def check_can_authenticate(self):
        request = self.request
        user = request.user
        if not user.is_authenticated or user.is_verified():
            raise exceptions.NotAuthenticated()
        if services.must_choose_password(user):
            raise exceptions.NotAuthenticated()
        if throttle.over_rate_limit(request) or services.is_refused(request, user):
            raise _Refused()


class _Refused(exceptions.OTPWebAuthnApiError):
    status_code = 429
    default_code = "refused"
    default_detail = services.LOCKED_MESSAGE


class AuthenticationBegin(_Authentication, BeginCredentialAuthenticationView):
    pass


class AuthenticationComplete(_Authentication, CompleteCredentialAuthenticationView):
    def complete_auth(self, device):
        request = self.request
        try:
            services.complete_sign_in(request, device, factor="webauthn")
        except services.SignInRefused as refusal:
            raise _Refused(detail=str(refusal)) from None

    def get_success_url(self):
        return self.request.session.pop(NEXT_KEY, None) or home_url(self.request.user)

    def post(self, *args, **kwargs):
        user = self.request.user
        try:
            response = super().post(*args, **kwargs)
        except (exceptions.OTPWebAuthnApiError, InvalidAuthenticationResponse) as error:
            if not isinstance(error, _Refused):
                services.register_failure(self.request, user, stage="webauthn")
            raise
        throttle.remember_browser(response, user)
        return response


class _library_errors:
    """py_webauthn's errors as the library's JSON answers (its own context manager,
    without the traceback it would log)."""

    def __enter__(self):
        self.inner = rewrite_exceptions(logger=None)
        return self.inner.__enter__()

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)


_CONFIRM_FIRST = _("Confirm your password on this page first.")


def configuration(request) -> dict:
    """What the library's script reads from the page: our endpoints and the CSRF token."""
    return get_configuration(request)


class ScriptCatalog(JavaScriptCatalog):
    """The passkey script's messages: the library's own catalogues, and ours
    (locale/ru/LC_MESSAGES/djangojs.po: the library ships no Russian)."""

    def get_paths(self, packages):
        return [*super().get_paths(packages), *map(str, settings.LOCALE_PATHS)]
