"""Forms of the triage queue and the case page."""

import re

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from cases.models import CaseNote
from cases.selectors import QUEUE_SORTS
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

    def __init__(self, *args, colleagues: QuerySet | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Besides "me" and "nobody", any colleague a case may be given to
        # (cases.selectors.colleagues_with_access).
        if colleagues is not None:
            self.fields["assignee"].choices = [
                *self.fields["assignee"].choices,
                *((str(person.pk), person.get_username()) for person in colleagues),
            ]


def queue_sort(data: QueryDict) -> str:
    """The queue's `sort` parameter if it names a known order, else "" (the
    page's own order): a made-up value is ignored, never an error."""
    sort = data.get("sort", "")
    return sort if sort in QUEUE_SORTS else ""


def saved_query(data: QueryDict, colleagues: QuerySet) -> str | None:
    """
    What a saved view keeps of a queue address: the filters the queue knows,
    each with a value it accepts, and the sort, in a fixed order; nothing else
    (no page, no search, no unknown name). None when a filter is not valid.
    """
    form = QueueFilterForm(data, colleagues=colleagues)
    if not form.is_valid():
        return None
    kept = QueryDict(mutable=True)
    for name in form.fields:
        value = form.cleaned_data[name]
        if value:
            kept[name] = value.isoformat() if hasattr(value, "isoformat") else value
    if sort := queue_sort(data):
        kept["sort"] = sort
    return kept.urlencode()


# A label is kept in plaintext: no reference, phone number or handle may hide in it.
_NOT_IN_A_NAME = re.compile(r"[0-9@+]")
SAVED_VIEWS_PER_PERSON = 20


class SavedViewNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the view"),
        max_length=60,
        help_text=_("Words only: no digits, @ or +, so no reference or contact ends up in it."),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if _NOT_IN_A_NAME.search(name):
            raise forms.ValidationError(
                _("Use words only, without digits, @ or +; nothing was saved.")
            )
        return name


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
        ("assign_to", _("Assign to")),
        ("triage", _("Triage")),
        ("resolve_lost", _("Resolve as lost contact")),
        ("reject_spam", _("Reject as spam")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    # For "assign_to": the id of a colleague who holds access (checked again
    # against cases.selectors.colleagues_with_access in the service).
    assignee = forms.CharField(required=False, max_length=20)
    # The queue's filters and page, to go back to the same rows.
    back = forms.CharField(required=False, max_length=500)

    def selected(self) -> list[str]:
        """The chosen references (checkboxes named "selected"), at most BULK_LIMIT."""
        chosen = [value.strip() for value in self.data.getlist("selected")]
        return list(dict.fromkeys(v for v in chosen if v and len(v) <= 64))[:BULK_LIMIT]


# The most cases one bulk action takes (two pages of the queue).
BULK_LIMIT = 100
