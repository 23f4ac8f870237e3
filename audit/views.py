"""The audit log for admins: browse and filter."""

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import staff_required
from accounts.roles import Role
from audit.models import AuditEntry
from audit.services import verify_chain


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=40)
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    target = forms.CharField(label=_("Target"), required=False, max_length=150)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@never_cache
@require_GET
@staff_required(Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.order_by("-seq")
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action__startswith=data["action"])
        if data["actor"]:
            entries = entries.filter(actor=data["actor"])
        if data["target"]:
            entries = entries.filter(target=data["target"])
        if data["since"]:
            entries = entries.filter(at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__date__lte=data["until"])
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    verification = verify_chain() if request.GET.get("verify") == "1" else None
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "query": query.urlencode(), "verification": verification},
    )
