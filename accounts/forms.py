"""Forms of the staff sign-in and of account management."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from audit.labels import SYSTEM_ACTORS


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("Six digits from your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def __init__(self, *args, enrolling: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if enrolling:
            # Confirming a new authenticator: it gives the code, and someone
            # setting up their first one has no backup codes yet.
            self.fields["code"].help_text = _("The six digits the app shows now.")
            self.fields["code"].widget.attrs["inputmode"] = "numeric"


class NewStaffForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("An account with this username already exists."))
        if username.lower() in SYSTEM_ACTORS:
            # The audit log shows these names as the system, never as a person.
            raise forms.ValidationError(_("This name is kept for the system: choose another."))
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("New role"), choices=Role.choices)


class LockdownForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand: every session ends now, mine included, and only admins can sign in."
        ),
        required=True,
        error_messages={"required": _("Tick the box to confirm the lockdown.")},
    )


class PasswordChangeForm(forms.Form):
    """The owner's own password: the current one, and the new one twice."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=4096,
        help_text=_(
            "At least 12 characters, not a common password, not only digits and not like "
            "your username. A few unrelated words make a good one."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, issued: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if issued:
            # Asked once more on purpose: it unlocks what was sealed under it (a
            # caseworker's key) so that it can be sealed under the new one; no
            # password is ever kept in the session to spare the typing.
            field = self.fields["current_password"]
            field.label = _("The password you were given")
            field.help_text = _(
                "The one you have just signed in with, once more: it is needed to move what "
                "it protects under your new password."
            )
        self.wrong_current = (
            _("This is not the password you were given.")
            if issued
            else _("This is not your current password.")
        )

    def clean(self) -> dict:
        data = super().clean()
        new, again = data.get("new_password"), data.get("new_password_again")
        if new and again and new != again:
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data


class PasswordConfirmForm(forms.Form):
    """Your password again, before a change to your second factor."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ReplaceAuthenticatorForm(PasswordConfirmForm):
    code = forms.CharField(
        label=_("Code from your current authenticator, or a backup code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )


class PasskeyNameForm(forms.Form):
    """A name for one's own passkey, to tell one's keys apart ("Yubikey", "laptop")."""

    name = forms.CharField(label=_("Name"), max_length=64)
