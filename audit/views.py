"""The audit log for admins: browse and filter, and ask for the chain to be checked."""

from functools import partial

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.roles import Role
from audit.checkpoints import checkpoints_enabled, earlier_not_stored, last_checkpoint
from audit.checks import check_under_way, last_result, request_check
from audit.labels import action_choices, action_label, details
from audit.models import AuditEntry
from audit.tasks import verify_audit_chain


class ActionCheckboxes(forms.CheckboxSelectMultiple):
    template_name = "audit/widgets/action_checkboxes.html"


class AuditFilterForm(forms.Form):
    # Several actions, or whole groups ("auth.*"): checkboxes grouped in
    # fieldsets, folded in a <details> (no script; a select of 80 lines was
    # hard to use and hid what was chosen).
    action = forms.MultipleChoiceField(
        label=_("Actions"),
        required=False,
        choices=action_choices,
        widget=ActionCheckboxes,
    )
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    target = forms.CharField(label=_("Target"), required=False, max_length=150)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ChainCheckForm(forms.Form):
    from_start = forms.BooleanField(
        label=_("From the first entry (slower; otherwise from the last intact check)"),
        required=False,
    )


def _actions(chosen: list[str]) -> Q:
    exact = [code for code in chosen if not code.endswith(".*")]
    query = Q(action__in=exact) if exact else Q(pk__in=[])
    for group in chosen:
        if group.endswith(".*"):
            query |= Q(action__startswith=group[:-1])
    return query


@never_cache
@require_GET
@staff_required(Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.order_by("-seq")
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(_actions(data["action"]))
        if data["actor"]:
            entries = entries.filter(actor=data["actor"])
        if data["target"]:
            entries = entries.filter(target=data["target"])
        if data["since"]:
            entries = entries.filter(at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__date__lte=data["until"])
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    for entry in page:
        entry.label = action_label(entry.action)
        entry.details = details(entry.detail)
    query = request.GET.copy()
    query.pop("page", None)
    # The chain is never walked here: the page shows the last stored check.
    checkpoint = last_checkpoint()
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "last_check": last_result(),
            "check_under_way": check_under_way(),
            "check_form": ChainCheckForm(),
            "checkpoint": checkpoint,
            "earlier_not_stored": earlier_not_stored(checkpoint),
            "checkpoints_enabled": checkpoints_enabled(),
        },
    )


@staff_required(Role.ADMIN)
@require_POST
def request_chain_check(request: HttpRequest) -> HttpResponse:
    """Queue a check of the chain for a worker; the log page shows its result."""
    form = ChainCheckForm(request.POST)
    from_start = form.is_valid() and form.cleaned_data["from_start"]
    check, new = request_check(by=request.user, from_start=from_start)
    if new:
        transaction.on_commit(partial(verify_audit_chain.delay, check.pk))
        messages.success(request, _("A check of the chain is queued; its result appears here."))
    else:
        messages.info(request, _("A check of the chain is already under way."))
    return redirect("audit:log")
