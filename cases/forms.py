"""Forms of the triage queue and the case page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import CaseNote
from cases.workflow import CaseState, Outcome
from intake.vocabulary import Category, Channel, Language, Urgency

ANY = [("", _("Any"))]


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        # "Any" is every state still being worked on; resolved, closed and
        # rejected cases are found by choosing their state.
        choices=ANY + CaseState.choices,
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=ANY + Category.choices
    )
    urgency = forms.ChoiceField(label=_("Urgency"), required=False, choices=ANY + Urgency.choices)
    assignee = forms.ChoiceField(
        label=_("Assigned to"),
        required=False,
        choices=[*ANY, ("mine", _("Me")), ("unassigned", _("Nobody"))],
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=ANY + Channel.choices)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=ANY + Language.choices
    )
    received_from = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(
        label=_("Received up to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class MoveForm(forms.Form):
    to_state = forms.ChoiceField(choices=CaseState.choices)
    # The state the person saw: a move from a stale page is refused.
    expected_state = forms.ChoiceField(choices=CaseState.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=ANY + Outcome.choices)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("New note"),
        max_length=20_000,
        # "Enhanced" spellcheckers send what is typed to third parties.
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("Notes are encrypted and visible to caseworkers only."),
    )


class OutsideContactForm(forms.Form):
    contacted_via = forms.ChoiceField(
        label=_("Contacted outside the system via"),
        choices=CaseNote.ContactChannel.choices,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label=_("Anything to keep (optional)"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_("Nothing is needed: that the contact happened, and how, is recorded."),
    )


class AssignForm(forms.Form):
    # "me", "" (nobody) or the id of a caseworker.
    assignee = forms.CharField(required=False, max_length=20)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Message to the requester"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("They read it on the status page with their receipt code."),
    )


class ReferenceSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Reference"),
        max_length=100,
        help_text=_("Whole or its beginning, in any case, with or without dashes: gl-xp3d"),
    )


class ContactSearchForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact"),
        max_length=200,
        help_text=_(
            "Telegram or Signal handle, phone number or e-mail address, written as the "
            "requester gave it or not. It is never stored, logged or put in an address."
        ),
    )


class BulkForm(forms.Form):
    """The rows chosen in the queue, and what to do with them."""

    ACTIONS = [
        ("assign_me", _("Assign to me")),
        ("triage", _("Triage")),
        ("reject_spam", _("Reject as spam")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    # The queue's filters and page, to go back to the same rows.
    back = forms.CharField(required=False, max_length=500)

    def selected(self) -> list[str]:
        """The chosen references (checkboxes named "selected"), at most BULK_LIMIT."""
        chosen = [value.strip() for value in self.data.getlist("selected")]
        return list(dict.fromkeys(v for v in chosen if v and len(v) <= 64))[:BULK_LIMIT]


# The most cases one bulk action takes (two pages of the queue).
BULK_LIMIT = 100
