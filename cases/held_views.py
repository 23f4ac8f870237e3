"""
The list of requests held during a flood (/staff/held/), for caseworkers.

Held requests are stored with their receipts but kept out of the triage queue.
Caseworkers release them to the queue, one group of identical narratives (or
one request) at a time, or reject a group as spam after a confirmation page;
a whole flood (everything held in a time window) is rejected in one confirmed
action that runs in the background, its progress shown on the list.
Nothing is decrypted here: groups come from keyed digests, and are named by a
member's reference, never by the digest.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import after_session_ends
from cases import services
from cases.access import caseworker_door
from cases.forms import BULK_LIMIT
from cases.models import Case
from cases.selectors import (
    flood_rejections,
    held_count,
    held_group_of,
    held_groups,
    held_groups_of,
    held_in_window,
    recent_floods,
)
from core import confirmation

# As a datetime-local input sends it, in TIME_ZONE.
WINDOW_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class HeldChoiceForm(forms.Form):
    # A member of the group; "case" acts on it alone, "group" on every held
    # request with the same narrative, "selected" on every group whose box was
    # ticked on the list (checkboxes named "selected", each a group's reference).
    reference = forms.CharField(max_length=64, required=False)
    scope = forms.ChoiceField(choices=[("case", "case"), ("group", "group"), ("selected", "")])

    def selected(self) -> list[str]:
        chosen = [value for value in self.data.getlist("selected") if 0 < len(value) <= 64]
        return list(dict.fromkeys(chosen))[:BULK_LIMIT]


class FloodWindowForm(forms.Form):
    """Everything held from `since` up to `until`; `last_case_id` is the newest
    held case the confirmation page counted, so nothing held later is touched."""

    since = forms.DateTimeField(input_formats=WINDOW_FORMATS)
    until = forms.DateTimeField(input_formats=WINDOW_FORMATS)
    last_case_id = forms.IntegerField(min_value=0, required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            raise forms.ValidationError(_("The window must end after it starts."))
        return cleaned


def _chosen(request: HttpRequest) -> tuple[HeldChoiceForm, list[Case]]:
    form = HeldChoiceForm(request.POST)
    if not form.is_valid():
        raise Http404
    if form.cleaned_data["scope"] == "selected":
        return form, list(held_groups_of(form.selected()).select_related("request"))
    case = (
        Case.objects.filter(request__reference=form.cleaned_data["reference"], flood__isnull=False)
        .select_related("request")
        .first()
    )
    if case is None:
        return form, []
    if form.cleaned_data["scope"] == "case":
        return form, [case]
    return form, list(held_group_of(case).select_related("request"))


def _nothing_chosen(form: HeldChoiceForm) -> str:
    if form.cleaned_data["scope"] == "selected" and not form.selected():
        return _("Tick at least one group first; nothing was changed.")
    return _("Nothing is held under that reference any more.")


@never_cache
@require_GET
@caseworker_door
def held_list(request: HttpRequest) -> HttpResponse:
    floods = list(recent_floods())
    for flood in floods:
        # Its window: from its first hour to the end of the last hour it held.
        flood.until = flood.last_held_at + timedelta(hours=1)
    return render(
        request,
        "cases/held.html",
        {
            "floods": floods,
            "groups": held_groups(),
            "held": held_count(),
            "rejections": flood_rejections(),
        },
    )


@require_POST
@caseworker_door
@after_session_ends("cases:held")
def held_release(request: HttpRequest) -> HttpResponse:
    form, cases = _chosen(request)
    released = services.release_held(cases, actor=request.user)
    if released:
        messages.success(
            request,
            ngettext(
                "%(count)s request was released to the triage queue.",
                "%(count)s requests were released to the triage queue.",
                released,
            )
            % {"count": released},
        )
    else:
        messages.error(request, _nothing_chosen(form))
    return redirect("cases:held")


@never_cache
@require_POST
@caseworker_door
@after_session_ends("cases:held")
def held_reject(request: HttpRequest) -> HttpResponse:
    """First the confirmation page (nothing changes), then, confirmed, the rejection."""
    form, cases = _chosen(request)
    if not cases:
        messages.error(request, _nothing_chosen(form))
        return redirect("cases:held")
    # The token is bound to the very requests listed: a group that grew since
    # is asked again.
    held = [case.pk for case in cases]
    if not confirmation.redeem(request, "held.reject", held):
        return render(
            request,
            "cases/held_reject.html",
            {
                "confirmation": confirmation.issue(request, "held.reject", held),
                "count": len(cases),
                "form": form,
                "first": cases[0],
                "cases": cases[:10],
                "selected": form.selected() if form.cleaned_data["scope"] == "selected" else [],
            },
        )
    rejected = services.reject_held_as_spam(cases, actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s held request was rejected as spam.",
            "%(count)s held requests were rejected as spam.",
            rejected,
        )
        % {"count": rejected},
    )
    return redirect("cases:held")


@never_cache
@require_POST
@caseworker_door
@after_session_ends("cases:held")
def held_reject_window(request: HttpRequest) -> HttpResponse:
    """
    A whole flood in one action: first a confirmation page counting what is
    held in the window (nothing changes), then, confirmed, the rejection is
    recorded, audited with its count and run in the background.
    """
    form = FloodWindowForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("That time window could not be read; nothing was changed.")
            + " "
            + " ".join(str(error) for error in form.non_field_errors()),
        )
        return redirect("cases:held")
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    last_case_id = form.cleaned_data["last_case_id"]
    held = held_in_window(since, until, last_case_id)
    if not held.exists():
        messages.error(request, _("Nothing is held in that time window; nothing was changed."))
        return redirect("cases:held")
    window = [since.isoformat(), until.isoformat(), last_case_id]
    if last_case_id is None or not confirmation.redeem(request, "held.reject_window", window):
        last = held.aggregate(last=Max("pk"))["last"]
        return render(
            request,
            "cases/held_reject_window.html",
            {
                "count": held.count(),
                "since": since,
                "until": until,
                "last_case_id": last,
                "confirmation": confirmation.issue(
                    request, "held.reject_window", [since.isoformat(), until.isoformat(), last]
                ),
            },
        )
    job = services.start_flood_rejection(since, until, last_case_id, actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s held request is being rejected as spam; the progress is shown below.",
            "%(count)s held requests are being rejected as spam; the progress is shown below.",
            job.expected,
        )
        % {"count": job.expected},
    )
    return redirect("cases:held")
