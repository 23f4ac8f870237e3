"""
Saved views of the triage queue: each caseworker's own shortcuts to a set of
filters and a sort (cases.models.SavedView). Saved, renamed and deleted by
POST from the queue page, no JavaScript; another person's saved view is not
found (404), whoever asks.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cases import services
from cases.access import caseworker_door
from cases.forms import SAVED_VIEWS_PER_PERSON, SavedViewNameForm, saved_query
from cases.models import SavedView
from cases.selectors import colleagues_with_access


def _queue(query: str = "") -> str:
    return reverse("cases:queue") + (f"?{query}" if query else "")


def _name_or_say_why(request: HttpRequest) -> str | None:
    form = SavedViewNameForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["name"]
    for error in form.errors.get("name", []):
        messages.error(request, error)
    return None


@never_cache
@require_POST
@caseworker_door
def view_save(request: HttpRequest) -> HttpResponse:
    # The filters are read again from what the page echoed, through the
    # queue's own form: only known names with accepted values are kept.
    query = saved_query(QueryDict(request.POST.get("query", "")[:1000]), colleagues_with_access())
    if query is None:
        messages.error(request, _("These filters are not valid; nothing was saved."))
        return redirect(_queue())
    name = _name_or_say_why(request)
    if name is None:
        return redirect(_queue(query))
    try:
        services.save_view(request.user, name, query, limit=SAVED_VIEWS_PER_PERSON)
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(_queue(query))


@never_cache
@require_POST
@caseworker_door
def view_rename(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    name = _name_or_say_why(request)
    if name is not None:
        try:
            services.rename_view(view, name)
        except services.CaseError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("View renamed to “%(name)s”.") % {"name": name})
    return redirect(_queue())


@never_cache
@require_POST
@caseworker_door
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    name = view.name
    services.delete_view(view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": name})
    return redirect(_queue())
