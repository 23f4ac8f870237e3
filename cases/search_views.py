"""
Search (/staff/search/): by reference, and by contact.

A reference is searched by GET (?q=), so a list of matches can be paged and
linked to. A contact is searched only by POST and answered in that response:
it is never put in an address, a log or the audit log, and it is matched
through its keyed fingerprints (encryption.fingerprint), so nothing is
decrypted and a session without the organisation key finds nothing. The box
on every staff page posts too: what is typed there goes into an address only
once it is recognised as (the start of) a reference.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from audit.services import record
from cases.access import caseworker_door, work_in_passing
from cases.forms import ContactSearchForm, ReferenceSearchForm
from cases.selectors import cases_by_reference, requests_with_fingerprints
from encryption.fingerprint import fingerprints_for
from encryption.session import keys_for
from intake.references import PREFIX, prefix_length, reference_prefix

NOT_A_REFERENCE = gettext_lazy(
    "That is not a reference (they look like GL-XP3D-Q9TX). To find requests by a "
    "contact, use the contact form."
)

PAGE_SIZE = 50
CONTACT_RESULTS = 50
# Fewer characters of a reference than this would match too many to be useful.
SHORTEST_PREFIX = 3


@never_cache
@require_http_methods(["GET", "POST"])
# An error report (a 500 e-mailed to the admins) shows neither what was typed
# nor the variables that hold it.
@sensitive_post_parameters("q", "contact")
@caseworker_door
def search(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _posted(request)
    if "q" in request.GET:
        return _by_reference(request, request.GET["q"])
    return _page(request)


def _page(request: HttpRequest, **context) -> HttpResponse:
    context.setdefault("form", ReferenceSearchForm())
    context.setdefault("contact_form", ContactSearchForm(auto_id="contact_%s"))
    return render(request, "cases/search.html", context)


@sensitive_variables("typed")
def _posted(request: HttpRequest) -> HttpResponse:
    """The contact form, or the box on every page: a reference goes on to the
    GET search; anything else is searched as a contact, in this response."""
    if "contact" in request.POST:
        return _by_contact(request, request.POST["contact"])
    typed = request.POST.get("q", "")
    if not typed.strip():
        return _page(request)
    if _looks_like_reference(typed):
        return redirect(f"{reverse('cases:search')}?{urlencode({'q': reference_prefix(typed)})}")
    if "".join(typed.split()).upper().startswith(PREFIX):
        # A mistyped reference: not searched as a contact, not repeated.
        return _page(request, not_a_reference=NOT_A_REFERENCE)
    return _by_contact(request, typed)


def _looks_like_reference(typed: str) -> bool:
    # A short number is more likely the start of a phone number than of a
    # reference: it must not go into an address.
    compact = "".join(typed.split())
    return reference_prefix(typed) is not None and (
        compact.upper().startswith("GL") or not compact.replace("-", "").isdigit()
    )


def _by_reference(request: HttpRequest, typed: str) -> HttpResponse:
    prefix = reference_prefix(typed)
    if prefix is None:
        # Neither kept in the address nor repeated: it may be a contact.
        record("search.reference", actor=request.user, results=0)
        messages.error(request, NOT_A_REFERENCE)
        return redirect("cases:search")
    form = ReferenceSearchForm({"q": prefix})
    if prefix_length(prefix) < SHORTEST_PREFIX:
        return _page(request, form=form, too_short=SHORTEST_PREFIX)
    page = Paginator(cases_by_reference(prefix), PAGE_SIZE).get_page(request.GET.get("page"))
    total = page.paginator.count
    record("search.reference", actor=request.user, target=prefix, results=total)
    if total == 1 and page.number == 1:
        return redirect("cases:detail", reference=page[0]["request__reference"])
    return _page(request, form=form, prefix=prefix, page=page, query=urlencode({"q": prefix}))


@sensitive_variables("typed", "form")
def _by_contact(request: HttpRequest, typed: str) -> HttpResponse:
    keys = keys_for(request)
    if not keys:
        return _page(request, needs_access=True)
    form = ContactSearchForm({"contact": typed}, auto_id="contact_%s")
    fingerprints = fingerprints_for(keys, typed) if form.is_valid() else []
    if not fingerprints:
        return _page(request, contact_form=form, contact_missing=True)
    # Requests that arrived since a caseworker last passed get their
    # fingerprints first, so the newest are found too.
    work_in_passing(request)
    found = requests_with_fingerprints(fingerprints, CONTACT_RESULTS + 1)
    record("search.contact", actor=request.user, results=len(found[:CONTACT_RESULTS]))
    return _page(
        request,
        # The contact is not written back into the page.
        contact_form=ContactSearchForm(auto_id="contact_%s"),
        contact_results=found[:CONTACT_RESULTS],
        contact_more=len(found) > CONTACT_RESULTS,
        contact_searched=True,
    )
