"""Forms of the triage queue and the case page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.workflow import OPEN_STATES, CaseState, Outcome
from intake.vocabulary import Category, Urgency

ANY = [("", _("Any"))]


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=ANY + [(s, CaseState(s).label) for s in OPEN_STATES],
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


class MoveForm(forms.Form):
    to_state = forms.ChoiceField(choices=CaseState.choices)
    # The state the person saw: a move from a stale page is refused.
    expected_state = forms.ChoiceField(choices=CaseState.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=ANY + Outcome.choices)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("New note"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Notes are encrypted and visible to caseworkers only."),
    )


class AssignForm(forms.Form):
    # "me", "" (nobody) or the id of a caseworker.
    assignee = forms.CharField(required=False, max_length=20)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Message to the requester"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("They read it on the status page with their receipt code."),
    )
