"""
Bulk actions on rows chosen in the queue or the New view (checkboxes in one
form, no JavaScript): assign to me, assign to a colleague who holds access,
triage, resolve as lost contact, reject as spam. Rejection is final and
resolving takes a case out of active work, so both are asked again on a page
of their own. Each case goes through the same services as on its own page
(cases.services), audited one by one.
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
from cases.workflow import CaseState, Outcome, is_allowed
from core import confirmation

# What a confirmation page's token is bound to (with the references it lists).
REJECTION = "bulk.reject_spam"
LOST_CONTACT = "bulk.resolve_lost"
# The actions asked again, each with its token's purpose and the move it makes.
CONFIRMED = {
    "reject_spam": (REJECTION, CaseState.REJECTED, ""),
    "resolve_lost": (LOST_CONTACT, CaseState.RESOLVED, Outcome.LOST_CONTACT),
}

QUEUE_FILTERS = (
    "state", "category", "urgency", "assignee", "channel", "language", "received_from",
    "received_to",
)  # fmt: skip
# Where a bulk action goes back to, with the filters that page keeps.
ORIGINS = {
    "queue": ("cases:queue", (*QUEUE_FILTERS, "sort", "page")),
    "new": ("cases:new", ("sort", "page")),
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
    if action in CONFIRMED:
        purpose, to_state, outcome = CONFIRMED[action]
        if not confirmation.redeem(request, purpose, chosen):
            return _confirm(request, action, chosen, request.POST.get("back", ""), back)
    else:
        to_state, outcome = CaseState.TRIAGED, ""
    if action == "assign_to":
        return _assign_to(request, form, chosen, back)
    if action == "assign_me":
        result = services.bulk_assign_to_me(chosen, actor=request.user)
        done = ngettext(
            "%(count)s case assigned to you.", "%(count)s cases assigned to you.", len(result.done)
        )
    else:
        result = services.bulk_move(chosen, to_state, actor=request.user, outcome=outcome)
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


def _assign_to(request: HttpRequest, form: BulkForm, chosen: list[str], back: str):
    choice = form.cleaned_data["assignee"]
    try:
        result, assignee = services.bulk_assign_to(
            chosen, int(choice) if choice.isdigit() else 0, actor=request.user
        )
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
        return redirect(back)
    done = ngettext(
        "%(count)s case assigned to %(name)s.",
        "%(count)s cases assigned to %(name)s.",
        len(result.done),
    ) % {"count": len(result.done), "name": assignee.get_username()}
    _report(request, done, result)
    return redirect(back)


def _confirm(
    request: HttpRequest, action: str, chosen: list[str], raw_back: str, back: str
) -> HttpResponse:
    """The page that asks again: what will change, what is left as it is, and a
    token bound to exactly the cases that can make the move."""
    purpose, to_state, _outcome = CONFIRMED[action]
    rows = list(
        Case.objects.filter(request__reference__in=chosen)
        .order_by("request__reference")
        .values("request__reference", "request__category", "request__urgency", "state", "flood")
    )
    movable = [row for row in rows if row["flood"] is None and is_allowed(row["state"], to_state)]
    others = [row for row in rows if row not in movable]
    return render(
        request,
        "cases/bulk_confirm.html" if action == "reject_spam" else "cases/bulk_confirm_lost.html",
        {
            "rejectable": movable,
            "confirmation": confirmation.issue(
                request, purpose, [row["request__reference"] for row in movable]
            ),
            "others": others,
            "raw_back": raw_back,
            "back": back,
        },
    )
