"""
The request form, shared by the public page and the bot API.

Choices are the stored slugs; their labels are plain words for a person in a
hurry, not the staff vocabulary. Everything optional says so.
"""

import re

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

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

CATEGORY_CHOICES = [
    (Category.DESERTION, _("I want to leave my unit (AWOL or desertion)")),
    (Category.BORDER_CROSSING, _("I need to leave the country or cross a border")),
    (Category.CONSULTATION, _("I need advice (a summons, a contract, my rights)")),
]
SERVICE_CHOICES = [
    (ServiceStatus.CONSCRIPT, _("Conscript, on compulsory service")),
    (ServiceStatus.MOBILISED, _("Mobilised")),
    (ServiceStatus.CONTRACT_WARTIME, _("On a contract signed after 24 February 2022")),
    (ServiceStatus.CONTRACT_PREWAR, _("On a contract signed before 24 February 2022")),
    (ServiceStatus.VOLUNTEER, _("In a volunteer unit")),
    (ServiceStatus.CIVILIAN, _("Not serving (for example, I received a summons)")),
    (ServiceStatus.UNKNOWN, _("I would rather not say")),
]
LOCATION_CHOICES = [
    (Location.FRONT_LINE, _("At or near the front")),
    (Location.OCCUPIED_TERRITORY, _("In occupied territory of Ukraine")),
    (Location.HOME_COUNTRY, _("In Russia, away from the front")),
    (Location.ABROAD, _("Abroad")),
    (Location.UNKNOWN, _("I would rather not say")),
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


class TextField(forms.CharField):
    """
    Free text from a person or a bot, as the OpenAPI document describes it
    (intake/openapi.py): the length limit counts every character sent, the
    spaces around the text included, before they are trimmed; NUL is refused
    (Django's own validator) and so are unpaired surrogates.
    """

    def to_python(self, value):
        if isinstance(value, str):
            if self.max_length is not None:
                MaxLengthValidator(self.max_length)(value)
            if LONE_SURROGATE.search(value):
                raise forms.ValidationError(
                    _("This text holds characters that are not valid."), code="invalid_text"
                )
        return super().to_python(value)


class RequestForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What do you need help with?"), choices=CATEGORY_CHOICES, widget=forms.RadioSelect
    )
    service_status = forms.ChoiceField(
        label=_("Your service"), choices=SERVICE_CHOICES, widget=forms.RadioSelect
    )
    location = forms.ChoiceField(
        label=_("Where are you now, roughly?"),
        choices=LOCATION_CHOICES,
        widget=forms.RadioSelect,
    )
    urgency = forms.ChoiceField(
        label=_("How urgent is it?"), choices=URGENCY_CHOICES, widget=forms.RadioSelect
    )
    legal_articles = forms.MultipleChoiceField(
        label=_("Which charges do you fear? (optional)"),
        choices=ARTICLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    contact = TextField(
        label=_("How can we reach you? (optional)"),
        help_text=_(
            "A Telegram or Signal username, a number or an e-mail address: any way that is "
            "safe for you. Without it, follow our answers with your receipt code."
        ),
        max_length=MAX_CONTACT,
        required=False,
        widget=forms.TextInput(attrs=PRIVATE_TYPING),
    )
    alias = TextField(
        label=_("What should we call you? (optional, not your real name)"),
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


class PublicRequestForm(RequestForm):
    # The order of the page (intake/form.html), which its error summary follows.
    field_order = [
        "category", "service_status", "location", "urgency", "legal_articles",
        "narrative", "contact", "alias",
    ]  # fmt: skip
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
        help_text=_("Twenty letters and digits, for example K3M9-Q9TX-…; dashes are optional."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "maxlength": 64}
        ),
    )


class RequesterMessageForm(ReceiptForm):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5, **PRIVATE_TYPING}),
        error_messages={"required": _("The message is empty.")},
    )
