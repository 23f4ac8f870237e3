"""
Following up, for caseworkers: the Due view (/staff/due/), the follow-up day
of a case, and each caseworker's own address for the daily digest.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import after_session_ends
from cases import follow_up
from cases.access import caseworker_door, get_case_for
from cases.services import CaseError

PAGE_SIZE = 50


class FollowUpForm(forms.Form):
    follow_up_on = forms.DateField(
        label=gettext_lazy("Follow up on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class DigestAddressForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your address for the digest"),
        required=False,
        help_text=gettext_lazy(
            "Every morning, the number and references of your due cases, never their "
            "content; nothing when nothing is due. Leave it empty for no mail. The address "
            "is stored on the server: prefer one that does not name you."
        ),
    )


@never_cache
@require_GET
@caseworker_door
def due(request: HttpRequest) -> HttpResponse:
    everyone = request.GET.get("scope") == "all"
    now = timezone.now()
    today = timezone.localdate(now)
    cases = follow_up.due_cases(
        today=today,
        waiting_before=follow_up.waiting_cutoff(now),
        assignee=None if everyone else request.user,
    )
    page = follow_up.DuePage(cases, PAGE_SIZE, today=today).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/due.html",
        {
            "page": page,
            "everyone": everyone,
            "today": today,
            "query": "scope=all" if everyone else "",
            "waiting_days": settings.WAITING_FLAG_DAYS,
            "digest_form": DigestAddressForm(initial={"email": request.user.email}),
        },
    )


@require_POST
@caseworker_door
@after_session_ends("cases:detail")
def case_follow_up(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = FollowUpForm(request.POST)
    clear = request.POST.get("clear") == "yes"
    if not clear and not (form.is_valid() and form.cleaned_data["follow_up_on"]):
        messages.error(request, _("Choose a day to follow up on; nothing was changed."))
        return redirect("cases:detail", reference=reference)
    day = None if clear else form.cleaned_data["follow_up_on"]
    try:
        follow_up.set_follow_up(case, day, actor=request.user)
    except CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        if day:
            messages.success(
                request,
                _("Follow up on %(day)s.") % {"day": date_format(day, "DATE_FORMAT")},
            )
        else:
            messages.success(request, _("No follow-up day any more."))
    return redirect("cases:detail", reference=reference)


@require_POST
@caseworker_door
@after_session_ends("cases:due")
def digest_address(request: HttpRequest) -> HttpResponse:
    form = DigestAddressForm(request.POST)
    if form.is_valid():
        follow_up.set_digest_address(request.user, form.cleaned_data["email"])
        if form.cleaned_data["email"]:
            messages.success(request, _("The digest goes to this address every morning."))
        else:
            messages.success(request, _("No digest will be sent to you."))
    else:
        messages.error(request, _("Enter a valid e-mail address; nothing was changed."))
    return redirect("cases:due")
