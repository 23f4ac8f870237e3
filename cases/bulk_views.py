"""
Bulk actions on rows chosen in the queue or the New view (checkboxes in one
form, no JavaScript): assign to me, triage, reject as spam. Rejection is final,
so it is asked again on a page of its own. Each case goes through the same
services as on its own page (cases.services), audited one by one.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import after_session_ends
from cases import services
from cases.access import caseworker_door
from cases.forms import BulkForm
from cases.models import Case
from cases.workflow import CaseState, is_allowed
from core import confirmation

# What a confirmation page's token is bound to (with the references it lists).
REJECTION = "bulk.reject_spam"

# Where a bulk action goes back to, with the filters that page keeps.
ORIGINS = {
    "queue": ("cases:queue", ("state", "category", "urgency", "assignee", "page")),
    "new": ("cases:new", ("page",)),
}


@never_cache
@require_POST
@caseworker_door
@after_session_ends("cases:queue")
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST)
    back = _back(request.POST.get("back", ""))
    if not form.is_valid():
        messages.error(request, _("Choose what to do with the selected cases."))
        return redirect(back)
    chosen, action = form.selected(), form.cleaned_data["action"]
    if not chosen:
        messages.error(request, _("Select at least one case first; nothing was changed."))
        return redirect(back)
    if action == "reject_spam" and not confirmation.redeem(request, REJECTION, chosen):
        return _confirm_rejection(request, chosen, request.POST.get("back", ""), back)
    to_state = CaseState.TRIAGED if action == "triage" else CaseState.REJECTED
    if action == "assign_me":
        result = services.bulk_assign_to_me(chosen, actor=request.user)
        done = ngettext(
            "%(count)s case assigned to you.", "%(count)s cases assigned to you.", len(result.done)
        )
    else:
        result = services.bulk_move(chosen, to_state, actor=request.user)
        done = ngettext(
            "%(count)s case moved to “%(state)s”.",
            "%(count)s cases moved to “%(state)s”.",
            len(result.done),
        )
    label = CaseState(to_state).label if action != "assign_me" else ""
    _report(request, done % {"count": len(result.done), "state": label}, result)
    return redirect(back)


def _back(raw: str) -> str:
    """The page the action came from ("queue?urgency=high"), rebuilt from the
    known names only: never an address taken from the form as it is."""
    origin, _sep, query = raw.partition("?")
    name, keep = ORIGINS.get(origin, ORIGINS["queue"])
    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for key in keep:
        if given.get(key):
            kept[key] = given[key][:50]
    return reverse(name) + (f"?{kept.urlencode()}" if kept else "")


def _report(request: HttpRequest, done: str, result: services.BulkResult) -> None:
    (messages.success if result.done else messages.info)(request, done)
    if result.skipped:
        reasons = "; ".join(f"{reference}: {reason}" for reference, reason in result.skipped)
        messages.warning(
            request,
            ngettext(
                "%(count)s skipped: %(reasons)s.",
                "%(count)s skipped: %(reasons)s.",
                len(result.skipped),
            )
            % {"count": len(result.skipped), "reasons": reasons},
        )


def _confirm_rejection(
    request: HttpRequest, chosen: list[str], raw_back: str, back: str
) -> HttpResponse:
    rows = list(
        Case.objects.filter(request__reference__in=chosen)
        .order_by("request__reference")
        .values("request__reference", "request__category", "request__urgency", "state", "flood")
    )
    rejectable = [
        row for row in rows if row["flood"] is None and is_allowed(row["state"], "rejected")
    ]
    others = [row for row in rows if row not in rejectable]
    return render(
        request,
        "cases/bulk_confirm.html",
        {
            "rejectable": rejectable,
            "confirmation": confirmation.issue(
                request, REJECTION, [row["request__reference"] for row in rejectable]
            ),
            "others": others,
            "raw_back": raw_back,
            "back": back,
        },
    )
