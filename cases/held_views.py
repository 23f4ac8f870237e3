"""
The list of requests held during a flood (/staff/held/), for caseworkers.

Held requests are stored with their receipts but kept out of the triage queue.
Caseworkers release them to the queue, one group of identical narratives (or
one request) at a time, or reject a group as spam after a confirmation page.
Nothing is decrypted here: groups come from keyed digests, and are named by a
member's reference, never by the digest.
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cases import services
from cases.access import caseworker_door
from cases.forms import BULK_LIMIT
from cases.models import Case
from cases.selectors import (
    held_count,
    held_group_of,
    held_groups,
    held_groups_of,
    recent_floods,
)
from core import confirmation


class HeldChoiceForm(forms.Form):
    # A member of the group; "case" acts on it alone, "group" on every held
    # request with the same narrative, "selected" on every group whose box was
    # ticked on the list (checkboxes named "selected", each a group's reference).
    reference = forms.CharField(max_length=64, required=False)
    scope = forms.ChoiceField(choices=[("case", "case"), ("group", "group"), ("selected", "")])

    def selected(self) -> list[str]:
        chosen = [value for value in self.data.getlist("selected") if 0 < len(value) <= 64]
        return list(dict.fromkeys(chosen))[:BULK_LIMIT]


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
    return render(
        request,
        "cases/held.html",
        {"floods": recent_floods(), "groups": held_groups(), "held": held_count()},
    )


@require_POST
@caseworker_door
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
