"""
Search (/staff/search/): by reference, and by contact.

Only a whole stored reference ever reaches an address or an audit target: it
opens its case (/staff/cases/<reference>/). Everything else typed, in the box
on every staff page or in the forms here, is posted and answered in that
response, never redirected: the references that begin like it and the
requests from it as a contact, together, audited with their counts only. A
name or a handle must not turn into something that looks like a reference in
the address bar, the access log or the audit log ("petrov" once became
?q=GL-PETR-0V). A contact is matched through its keyed fingerprints
(encryption.fingerprint), so nothing is decrypted and a session without the
organisation key finds nothing. References are matched by their search key
(intake.references.reference_key), so any stored reference, imported ones in
another format included, is found however it is typed.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from accounts.decorators import after_session_ends
from audit.services import record
from cases.access import caseworker_door, work_in_passing
from cases.forms import ContactSearchForm, ReferenceSearchForm
from cases.selectors import cases_by_reference, requests_with_fingerprints
from encryption.fingerprint import fingerprints_for
from encryption.session import keys_for
from intake.references import PREFIX, key_candidates

NOT_A_REFERENCE = gettext_lazy(
    "That is not a reference (they look like GL-XP3D-Q9TX). To find requests by a "
    "contact, use the contact form."
)

REFERENCE_RESULTS = 50
CONTACT_RESULTS = 50
# Fewer characters of a reference than this would match too many to be useful.
SHORTEST_PREFIX = 3


@never_cache
@require_http_methods(["GET", "POST"])
# An error report (a 500 e-mailed to the admins) shows neither what was typed
# nor the variables that hold it.
@sensitive_post_parameters("q", "contact")
@caseworker_door
@after_session_ends()  # what was searched for is not kept: back to the empty search page
def search(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _posted(request)
    if "q" in request.GET:
        return _from_address(request, request.GET["q"])
    return _page(request)


def _page(request: HttpRequest, **context) -> HttpResponse:
    context.setdefault("form", ReferenceSearchForm())
    context.setdefault("contact_form", ContactSearchForm(auto_id="contact_%s"))
    return render(request, "cases/search.html", context)


@sensitive_variables("typed")
def _posted(request: HttpRequest) -> HttpResponse:
    """The contact form; or the box on every page and the reference form: a
    whole stored reference opens its case, anything else is searched here."""
    if "contact" in request.POST:
        return _page(request, **_contacts(request, request.POST["contact"], from_form=True))
    typed = request.POST.get("q", "")
    if not typed.strip():
        return _page(request)
    reference = _whole_reference(typed)
    if reference is not None:
        return _open(request, reference)
    return _page(request, **_references(request, typed), **_contacts(request, typed))


@sensitive_variables("typed")
def _whole_reference(typed: str) -> str | None:
    """The stored reference the text names, when it names exactly one."""
    found = list(cases_by_reference(key_candidates(typed), whole=True)[:2])
    return found[0]["request__reference"] if len(found) == 1 else None


def _open(request: HttpRequest, reference: str) -> HttpResponse:
    record("search.reference", actor=request.user, target=reference, results=1)
    return redirect("cases:detail", reference=reference)


@sensitive_variables("typed")
def _from_address(request: HttpRequest, typed: str) -> HttpResponse:
    """?q= in an address (an old link, or typed by hand): a whole stored
    reference opens its case; anything else is dropped from the address, not
    repeated and not recorded (it may be a contact)."""
    reference = _whole_reference(typed)
    if reference is not None:
        return _open(request, reference)
    record("search.reference", actor=request.user, results=0)
    messages.error(request, NOT_A_REFERENCE)
    return redirect("cases:search")


@sensitive_variables("typed", "keys")
def _references(request: HttpRequest, typed: str) -> dict:
    """The cases whose reference begins like the text, newest first."""
    keys = [key for key in key_candidates(typed) if _body_length(key) >= SHORTEST_PREFIX]
    if not keys:
        return {"too_short": SHORTEST_PREFIX} if key_candidates(typed) else {}
    found = list(cases_by_reference(keys, whole=False)[: REFERENCE_RESULTS + 1])
    record("search.reference", actor=request.user, results=len(found[:REFERENCE_RESULTS]))
    return {
        "reference_searched": True,
        "reference_results": found[:REFERENCE_RESULTS],
        "reference_more": len(found) > REFERENCE_RESULTS,
    }


def _body_length(key: str) -> int:
    return len(key) - len(PREFIX) if key.startswith(PREFIX) else len(key)


@sensitive_variables("typed", "form", "fingerprints")
def _contacts(request: HttpRequest, typed: str, *, from_form: bool = False) -> dict:
    """The requests from the text as a contact, by its keyed fingerprints."""
    keys = keys_for(request)
    if not keys:
        return {"needs_access": True}
    form = ContactSearchForm({"contact": typed}, auto_id="contact_%s")
    fingerprints = fingerprints_for(keys, typed) if form.is_valid() else []
    if not fingerprints:
        # Said on the contact form only: in the box, the text was a reference's
        # beginning as likely as a contact.
        return {"contact_form": form, "contact_missing": True} if from_form else {}
    # Requests that arrived since a caseworker last passed get their
    # fingerprints first, so the newest are found too.
    work_in_passing(request)
    found = requests_with_fingerprints(fingerprints, CONTACT_RESULTS + 1)
    record("search.contact", actor=request.user, results=len(found[:CONTACT_RESULTS]))
    return {
        # The contact is not written back into the page.
        "contact_results": found[:CONTACT_RESULTS],
        "contact_more": len(found) > CONTACT_RESULTS,
        "contact_searched": True,
    }
