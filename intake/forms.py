"""
The request form, shared by the public page and the bot API.

Choices are the stored slugs; their labels are plain words for a person in a
hurry, not the staff vocabulary. Everything optional says so.
"""

import re

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from intake.vocabulary import Category, Language, LegalArticle, Location, ServiceStatus, Urgency

# What a requester types stays out of the browser's memory and out of
# "enhanced" spellcheckers, which send text to third parties.
PRIVATE_TYPING = {
    "autocomplete": "off",
    "spellcheck": "false",
    "autocapitalize": "off",
    "autocorrect": "off",
}
MAX_NARRATIVE = 10_000
MAX_CONTACT = 200
MAX_ALIAS = 100
# Unpaired UTF-16 surrogates: a JSON body can spell them (a "\ud800" escape),
# but they are not text and nothing downstream (the cipher, the contact
# fingerprint, the database) can encode them.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

# What a requester reads; the staff pages use intake.vocabulary's labels.
REQUESTER = "requester's words"

CATEGORY_CHOICES = [
    (Category.DESERTION, _("I want to leave my unit (AWOL, desertion)")),
    (Category.BORDER_CROSSING, _("I need to leave the country or cross a border")),
    (Category.CONSULTATION, _("I need advice: refusing to fight, ending a contract, a summons")),
]
# Short enough for a Telegram button (at most 35 characters, in both languages).
SERVICE_CHOICES = [
    (ServiceStatus.CONSCRIPT, pgettext_lazy(REQUESTER, "Conscript")),
    (ServiceStatus.MOBILISED, pgettext_lazy(REQUESTER, "Mobilised")),
    (ServiceStatus.CONTRACT_PREWAR, pgettext_lazy(REQUESTER, "Contract before 24.02.2022")),
    (ServiceStatus.CONTRACT_WARTIME, pgettext_lazy(REQUESTER, "Contract after 24.02.2022")),
    (ServiceStatus.VOLUNTEER, pgettext_lazy(REQUESTER, "Volunteer (detachment, BARS, PMC)")),
    (ServiceStatus.CIVILIAN, pgettext_lazy(REQUESTER, "Not serving (a summons, etc.)")),
    (ServiceStatus.UNKNOWN, _("I'd rather not answer")),
]
# One answer for each place: the front is mostly on occupied territory, so
# "occupied" and "Russia" both mean away from it.
LOCATION_CHOICES = [
    (Location.FRONT_LINE, _("At the front or in the combat zone")),
    (Location.OCCUPIED_TERRITORY, _("In occupied territory, away from the front")),
    (Location.HOME_COUNTRY, _("In Russia, away from the front")),
    (Location.ABROAD, _("Abroad")),
    (Location.UNKNOWN, _("I'd rather not answer")),
]
URGENCY_CHOICES = [
    (Urgency.CRITICAL, _("I am in danger right now")),
    (Urgency.HIGH, _("Urgent: within a day")),
    (Urgency.NORMAL, _("Within a few days")),
    (Urgency.LOW, _("Not urgent")),
]
ARTICLE_CHOICES = [
    (LegalArticle.AWOL, _("Article 337: absence without leave")),
    (LegalArticle.DESERTION, _("Article 338: desertion")),
    (LegalArticle.REFUSING_ORDERS, _("Article 332: refusing an order")),
]


def urgent_help_text() -> str:
    """The organisation's own line for someone in danger right now (URGENT_HELP_TEXT):
    how fast it answers and what to do meanwhile."""
    return settings.URGENT_HELP_TEXT or str(
        _(
            "Requests from people in danger right now are read first. Until we answer, do "
            "whatever keeps you safe: do not wait for our reply."
        )
    )


# Django's own messages ("This field is required.", "Ensure this value has at
# most…") read as a machine's; these say what to do, and stand alone (the
# error summary and the bot show them without the question).
CHOOSE_FROM_LIST = _("Choose one of the answers on the list.")
TEXT_TOO_LONG = _(
    "The text is too long: at most %(limit_value)d characters, and it has %(show_value)d. "
    "Shorten it."
)
UNREADABLE_TEXT = _(
    "The text holds characters that cannot be stored (invisible or broken ones). "
    "Type it again by hand."
)


def _choice_errors(required) -> dict:
    return {"required": required, "invalid_choice": CHOOSE_FROM_LIST}


class TextField(forms.CharField):
    """
    Free text from a person or a bot, as the OpenAPI document describes it
    (intake/openapi.py): the length limit counts every character sent, the
    spaces around the text included, before they are trimmed; NUL is refused
    (Django's own validator) and so are unpaired surrogates, in plain words.
    """

    default_error_messages = {
        "max_length": TEXT_TOO_LONG,
        "null_characters_not_allowed": UNREADABLE_TEXT,
    }

    def to_python(self, value):
        if isinstance(value, str):
            if self.max_length is not None:
                MaxLengthValidator(self.max_length, self.error_messages["max_length"])(value)
            if LONE_SURROGATE.search(value):
                raise forms.ValidationError(UNREADABLE_TEXT, code="invalid_text")
        return super().to_python(value)


class RequestForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What do you need help with?"),
        choices=CATEGORY_CHOICES,
        widget=forms.RadioSelect,
        error_messages=_choice_errors(_("Choose what you need help with.")),
    )
    service_status = forms.ChoiceField(
        label=_("Your service"),
        help_text=_(
            "Signed a contract while a conscript, in a penal colony or after mobilisation? "
            "Choose “Contract” with the date you signed it."
        ),
        choices=SERVICE_CHOICES,
        widget=forms.RadioSelect,
        error_messages=_choice_errors(_("Choose your service, or “I'd rather not answer”.")),
    )
    location = forms.ChoiceField(
        label=_("Where are you now, roughly?"),
        choices=LOCATION_CHOICES,
        widget=forms.RadioSelect,
        error_messages=_choice_errors(_("Choose where you are, or “I'd rather not answer”.")),
    )
    urgency = forms.ChoiceField(
        label=_("How urgent is it?"),
        help_text=lazy(urgent_help_text, str)(),
        choices=URGENCY_CHOICES,
        widget=forms.RadioSelect,
        error_messages=_choice_errors(_("Choose how urgent it is.")),
    )
    legal_articles = forms.MultipleChoiceField(
        label=_("Which charges do you fear? (optional)"),
        choices=ARTICLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("Tick only articles on the list."),
            "invalid_list": _("Tick only articles on the list."),
        },
    )
    contact = TextField(
        label=_("How can we reach you? (optional)"),
        help_text=_(
            "A Telegram or Signal username, or an e-mail address, that is not tied to your "
            "name or your main phone number. You can leave it empty and read our answers "
            "with your receipt code."
        ),
        max_length=MAX_CONTACT,
        required=False,
        widget=forms.TextInput(attrs=PRIVATE_TYPING),
    )
    alias = TextField(
        label=_("A made-up name we can call you by (optional)"),
        help_text=_("Any name that is not yours, for example “North”. Never your real name."),
        max_length=MAX_ALIAS,
        required=False,
        widget=forms.TextInput(attrs=PRIVATE_TYPING),
    )
    narrative = TextField(
        label=_("Tell us about your situation"),
        help_text=_(
            "Write only what we need to help. Leave out surnames, unit numbers and exact "
            "places unless they matter."
        ),
        max_length=MAX_NARRATIVE,
        widget=forms.Textarea(attrs={"rows": 8, **PRIVATE_TYPING}),
        error_messages={"required": _("Please describe your situation in a few words.")},
    )

    def clean_legal_articles(self) -> list[str]:
        # Checkboxes never repeat; a repeated article is a malformed request,
        # refused as the OpenAPI document says (uniqueItems).
        articles = self.cleaned_data["legal_articles"]
        if len(set(articles)) != len(articles):
            raise forms.ValidationError(_("Name each article only once."), code="repeated")
        return articles


ACCEPTED_TYPES = "image/jpeg,image/png,image/webp,image/heic,application/pdf"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


def _attachments_help() -> str:
    from intake.attachments.services import limits_text

    return " ".join(
        [
            str(_("Photos (JPEG, PNG, WebP, HEIC) or PDF documents.")),
            limits_text(),
            str(
                _(
                    "We remove the location, the camera's details and the dates from each "
                    "file before it is stored, and keep no file name. But the picture itself "
                    "can still show who you are or where you are: a face, a name on a "
                    "document, a window view. Cover or crop what is not needed."
                )
            ),
        ]
    )


class AttachmentsField(forms.FileField):
    """
    Files from a plain multipart form (no JavaScript). The field only gathers
    them: the limits and the cleaning are intake.attachments.services'
    (clean_uploads), called by the view once the rest of the form is valid.
    """

    widget = MultipleFileInput(attrs={"accept": ACCEPTED_TYPES})

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos or documents (optional)"))
        kwargs.setdefault("help_text", lazy(_attachments_help, str)())
        super().__init__(**kwargs)

    def clean(self, data, initial=None) -> list:
        if not data:
            return []
        return list(data) if isinstance(data, list | tuple) else [data]


class PublicRequestForm(RequestForm):
    # The order of the page (intake/form.html), which its error summary follows.
    field_order = [
        "category", "service_status", "location", "urgency", "legal_articles",
        "narrative", "attachments", "contact", "alias",
    ]  # fmt: skip
    attachments = AttachmentsField()
    # Left empty by people (it is hidden from them); bots fill it in.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)


class ApiRequestForm(RequestForm):
    language = forms.ChoiceField(choices=Language.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out means Russian; given, it must be one of the document's values
        # ("" is not one of them: schemathesis found it accepted).
        self.language_given = "language" in (self.data or {})

    def clean_language(self) -> str:
        language = self.cleaned_data["language"]
        if self.language_given and not language:
            raise forms.ValidationError(
                _("Leave it out or choose one of: %(choices)s.")
                % {"choices": ", ".join(Language.values)},
                code="invalid_choice",
            )
        return language


class ReceiptForm(forms.Form):
    # Not validated here: whatever is typed goes through the same lookup
    # (intake.services.find_by_receipt), so a code refused for its length or
    # for being empty gets the answer of any wrong code, after the same work.
    code = forms.CharField(
        label=_("Your receipt code"),
        required=False,
        help_text=_(
            "Twenty Latin letters and digits, for example K3M9-Q9TX-…; dashes are optional."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "maxlength": 64}
        ),
    )


class RequesterMessageForm(ReceiptForm):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5, **PRIVATE_TYPING}),
        error_messages={
            "required": _("The message is empty."),
            "max_length": _(
                "The message is too long: at most %(limit_value)d characters, and it has "
                "%(show_value)d. Split it into two messages."
            ),
            "null_characters_not_allowed": UNREADABLE_TEXT,
        },
    )
    attachments = AttachmentsField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A message may be files alone (the view checks that there is one or the other).
        self.fields["body"].required = False

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("attachments"):
            self.add_error(
                "body", forms.ValidationError(_("The message is empty."), code="required")
            )
        return cleaned
