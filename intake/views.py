"""
Public pages: the request form, the receipt, and follow-up by receipt code.

Nothing here stores or logs who the visitor is. The receipt code travels only
in POST bodies (never in a URL), and no server-side session is created: each
follow-up page carries the code in its own form.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.ratelimit import Rate, count, spent
from core.views import csrf_failure as plain_csrf_failure
from encryption.sealing import NoOrganisationKey, SealingFailed
from intake import once, receipts
from intake.attachments.services import (
    AttachmentsRefused,
    clean_uploaded_files,
    refused_messages,
)
from intake.forms import PublicRequestForm, ReceiptForm, RequesterMessageForm, urgent_help_text
from intake.messages import thread_messages, thread_owner
from intake.models import HelpRequest
from intake.services import (
    HoldingFull,
    MessageBudgetSpent,
    RequestRecord,
    find_by_receipt,
    post_requester_message,
    requester_thread,
    submit_request,
)
from intake.vocabulary import Channel

logger = logging.getLogger(__name__)

# The bot says the same (telegram_bot.texts.STATE_WORDS).
STATE_WORDS = {
    "new": gettext_lazy("Received. A caseworker will read it soon."),
    "triaged": gettext_lazy("A caseworker has read your request and will contact you."),
    "in_progress": gettext_lazy("We are working on your request."),
    "waiting": gettext_lazy("We are waiting for your answer or your news."),
    "resolved": gettext_lazy(
        "We have done what we could for this request. If you need more help, write to us below."
    ),
    "closed": gettext_lazy(
        "Our work on this request is finished. If you need help again, send a new request."
    ),
    "rejected": gettext_lazy(
        "We could not take up this request. If something has changed, send a new request."
    ),
}


# One answer for every code that opens nothing (the bot's is the same words).
NOT_FOUND = gettext_lazy(
    "No request matches this code. Check it character by character: it has Latin letters "
    "and digits only."
)


def too_many(request: HttpRequest, rate_text: str) -> HttpResponse:
    rate = Rate.parse(rate_text)
    response = render(request, "429.html", status=429)
    response["Retry-After"] = str(rate.seconds if rate else 3600)
    return response


def record_from(data: dict, *, channel: str, language: str) -> RequestRecord:
    return RequestRecord(
        received_at=timezone.now(),
        channel=channel,
        category=data["category"],
        service_status=data["service_status"],
        location=data["location"],
        urgency=data["urgency"],
        legal_articles=list(data["legal_articles"]),
        language=language,
        contact=data["contact"].strip(),
        alias=data["alias"].strip(),
        narrative=data["narrative"],
    )


@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
def request_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, PublicRequestForm(), once.new_token())
    form = PublicRequestForm(request.POST, request.FILES)
    token = once.token_of(request.POST)
    if not form.is_valid():
        return _form_page(request, form, token or once.new_token(), status=400)
    if form.cleaned_data["website"]:
        # The hidden field is filled: a bot, or a person's browser filling in
        # forms by itself. Nothing stored; the form comes back with what was
        # written (the hidden field empty again), to be sent once more.
        return _form_page(request, form, token or once.new_token(), status=400, notice="hidden")
    counted = count(
        request,
        "intake",
        Rate.parse(settings.INTAKE_RATE_LIMIT),
        Rate.parse(settings.INTAKE_GLOBAL_LIMIT),
    )
    if counted.over_source:
        # Carriers put many people behind one address: the form comes back
        # with what was written, to send again later.
        rate = Rate.parse(settings.INTAKE_RATE_LIMIT)
        response = _form_page(
            request,
            form,
            token or once.new_token(),
            status=429,
            notice="too_many",
            minutes=max(1, round(rate.seconds / 60)) if rate else 60,
        )
        response["Retry-After"] = str(rate.seconds if rate else 3600)
        return response
    record = record_from(form.cleaned_data, channel=Channel.WEB, language=request.LANGUAGE_CODE)
    if not once.claim("request", token):
        # Reload on the receipt page, or the form sent twice: stored once already.
        return render(request, "intake/already_sent.html")
    try:
        attachments = clean_uploaded_files(form.cleaned_data["attachments"])
    except AttachmentsRefused as refused:
        once.release("request", token)
        for message in refused_messages(refused):
            form.add_error("attachments", message)
        return _form_page(request, form, token or once.new_token(), status=400)
    try:
        # Over the global ceiling the request is still taken, and held.
        submission = submit_request(record, hold=counted.over_ceiling, attachments=attachments)
    except HoldingFull:
        once.release("request", token)
        return _held_full(request, form, token)
    except NoOrganisationKey:
        once.release("request", token)
        # Nobody to seal it to yet (no caseworker bootstrapped the key): stored nothing.
        logger.warning("a request was refused: no organisation key yet (create_staff)")
        return render(request, "intake/not_ready.html", status=503)
    except SealingFailed as failure:
        once.release("request", token)
        # No fallback: nothing was stored, in clear or otherwise. The form comes
        # back in this response only, so that nothing typed is lost.
        logger.error("a request was refused, nothing stored: %s", failure)
        return render(request, "intake/not_stored.html", {"form": form, "once": token}, status=503)
    except BaseException:
        once.release("request", token)
        raise
    return _receipt_page(request, submission.receipt_code, urgent=record.urgency == "critical")


def _form_page(request: HttpRequest, form, token: str, status: int = 200, **notice) -> HttpResponse:
    return render(
        request, "intake/form.html", {"form": form, "once": token, **notice}, status=status
    )


def _held_full(request: HttpRequest, form: PublicRequestForm, token: str | None) -> HttpResponse:
    """
    The hold list is full: nothing was stored. The form comes back as it was
    sent, so nothing typed is lost, and says when to send it again: once the
    global ceiling's window has passed, a request is no longer held, so it is
    no longer refused either.
    """
    rate = Rate.parse(settings.INTAKE_GLOBAL_LIMIT)
    seconds = rate.seconds if rate else 3600
    response = _form_page(
        request,
        form,
        token or once.new_token(),
        status=429,
        try_again_minutes=max(1, -(-seconds // 60)),
    )
    response["Retry-After"] = str(seconds)
    return response


def _receipt_page(request: HttpRequest, code: str, *, urgent: bool = False) -> HttpResponse:
    # For someone in danger right now, the organisation's own line again, where
    # it cannot be missed; the language switch carries the flag along.
    context = {"code": receipts.formatted(code), "urgent": urgent}
    if urgent:
        context["urgent_help"] = urgent_help_text()
    return render(request, "intake/receipt.html", context)


@never_cache
@require_POST
@sensitive_post_parameters()
def receipt_language(request: HttpRequest) -> HttpResponse:
    """
    The receipt again, in the language chosen, from the receipt page's own
    switch: the code is shown once, so the ordinary switch (back to the form)
    would lose it for good. It comes back in the POST body it left in, never
    in a URL, a log or a cookie; nothing is looked up, so this page tells
    nothing about which codes exist. The language cookie is set as the
    ordinary switch sets it.
    """
    language = request.POST.get("language", "")
    code = receipts.normalise(request.POST.get("code", ""))
    if code is None or language not in {value for value, _name in settings.LANGUAGES}:
        return render(request, "400.html", status=400)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    response = _receipt_page(request, code, urgent=request.POST.get("urgent") == "1")
    response.headers["Content-Language"] = language
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def _shown(request: HttpRequest) -> int:
    """How many of the newest messages the status page shows (?shown in the POST)."""
    step = settings.REQUESTER_THREAD_PAGE
    try:
        return min(max(int(request.POST.get("shown", step)), step), 10 * step)
    except ValueError:
        return step


def _status_page(
    request: HttpRequest, help_request: HelpRequest, code: str, status: int = 200, **extra
) -> HttpResponse:
    shown = _shown(request)
    earlier = max(0, thread_messages(help_request).count() - shown)
    thread = requester_thread(help_request, code, shown=shown)
    # The newest message is a caseworker's: the requester is told so first,
    # not that their request still waits to be read.
    answered = bool(thread) and thread[-1].from_staff
    # After a merge, the state of the request the thread goes on in.
    state = thread_owner(help_request).case.state
    return render(
        request,
        "intake/status.html",
        {
            "answered": answered,
            "state_words": "" if answered and state == "new" else STATE_WORDS.get(state, ""),
            "received_at": help_request.received_at,
            "messages_thread": thread,
            "earlier": earlier,
            "more": shown + settings.REQUESTER_THREAD_PAGE
            if earlier and shown < 10 * settings.REQUESTER_THREAD_PAGE
            else None,
            "code": code,
            "message_form": extra.pop("message_form", None) or RequesterMessageForm(),
            "once": once.new_token(),
            **extra,
        },
        status=status,
    )


# Only failed lookups are counted, per sender and against the shared ceiling:
# a right code always opens its request, however many wrong ones others send.
FAILED_LOOKUPS = "status-failed"


def _sender_spent(request: HttpRequest) -> bool:
    """This sender (an address, or a Tor circuit on the onion) already failed too often."""
    return spent(request, FAILED_LOOKUPS, Rate.parse(settings.STATUS_RATE_LIMIT))


def _too_many_lookups(request: HttpRequest, rate_text: str, *, everyone: bool) -> HttpResponse:
    rate = Rate.parse(rate_text)
    seconds = rate.seconds if rate else 3600
    response = render(
        request,
        "intake/too_many_lookups.html",
        {"minutes": max(1, round(seconds / 60)), "everyone": everyone},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def _failed_lookup(request: HttpRequest, typed: str) -> HttpResponse:
    counted = count(
        request,
        FAILED_LOOKUPS,
        Rate.parse(settings.STATUS_RATE_LIMIT),
        Rate.parse(settings.STATUS_GLOBAL_LIMIT),
    )
    if counted.over_source:
        return _too_many_lookups(request, settings.STATUS_RATE_LIMIT, everyone=False)
    if counted.over_ceiling:
        return _too_many_lookups(request, settings.STATUS_GLOBAL_LIMIT, everyone=True)
    return _not_found(request, typed)


def _not_found(request: HttpRequest, typed: str) -> HttpResponse:
    # The same words whatever was wrong: empty, malformed, too long, unknown or
    # mistyped. What was typed is kept to be corrected, unless it is too long
    # to be a code at all.
    form = ReceiptForm({"code": typed if len(typed) <= receipts.MAX_TYPED else ""})
    form.is_valid()
    form.add_error(None, NOT_FOUND)
    return render(request, "intake/status_lookup.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
def status(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "intake/status_lookup.html", {"form": ReceiptForm()})
    if _sender_spent(request):
        return _too_many_lookups(request, settings.STATUS_RATE_LIMIT, everyone=False)
    # Whatever was typed goes through the same lookup: a code refused by form
    # validation alone would answer differently, and sooner.
    typed = request.POST.get("code", "")
    help_request = find_by_receipt(typed)
    if help_request is None:
        return _failed_lookup(request, typed)
    return _status_page(request, help_request, typed)


@never_cache
@require_POST
@sensitive_post_parameters()
def status_message(request: HttpRequest) -> HttpResponse:
    if _sender_spent(request):
        return _too_many_lookups(request, settings.STATUS_RATE_LIMIT, everyone=False)
    form = RequesterMessageForm(request.POST, request.FILES)
    code = request.POST.get("code", "")
    help_request = find_by_receipt(code)
    if help_request is None:
        return _failed_lookup(request, code)
    if not form.is_valid():
        return _status_page(request, help_request, code, message_form=form)
    token = once.token_of(request.POST)
    if not once.claim("message", token):
        # Reload after sending: the message is in the thread already.
        return _status_page(request, help_request, code, already_sent=True)
    try:
        attachments = clean_uploaded_files(form.cleaned_data["attachments"])
    except AttachmentsRefused as refused:
        once.release("message", token)
        for message in refused_messages(refused):
            form.add_error("attachments", message)
        return _status_page(request, help_request, code, message_form=form, status=400)
    try:
        post_requester_message(help_request, form.cleaned_data["body"], attachments)
    except MessageBudgetSpent as spent_budget:
        once.release("message", token)
        # Each request has its own budget: a flood through one code cannot
        # silence anyone else. What was typed stays in the form.
        return _status_page(
            request, help_request, code, message_form=form, budget=spent_budget, status=429
        )
    except SealingFailed as failure:
        once.release("message", token)
        logger.error("a requester's message was refused, nothing stored: %s", failure)
        form.add_error(
            "body",
            _(
                "Your message could not be encrypted, so it was not sent and nothing was "
                "stored. Please try again in a few minutes."
            ),
        )
        return _status_page(request, help_request, code, message_form=form, status=503)
    # A short answer, not the whole thread again: posting one message costs the
    # same however long the thread is.
    return render(request, "intake/message_sent.html", {"code": code})


@sensitive_post_parameters()
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """
    A public form sent without a valid security token (the page stayed open
    longer than its token, or the browser dropped its cookies). Nothing is
    stored; the request form and the status page's message form come back
    with everything typed and a fresh token, to be checked and sent again.
    Everything else (every staff form included) gets the plain page, which
    shows nothing that was posted.
    """
    try:
        view_name = resolve(request.path_info).view_name
    except Resolver404:
        view_name = ""
    if request.method != "POST" or view_name not in ("intake:form", "intake:status_message"):
        return plain_csrf_failure(request, reason)
    token = once.token_of(request.POST) or once.new_token()
    if view_name == "intake:form":
        return _form_page(request, PublicRequestForm(request.POST), token, 403, notice="expired")
    code = request.POST.get("code", "")
    return render(
        request,
        "intake/message_again.html",
        {
            "code": code if len(code) <= receipts.MAX_TYPED else "",
            "message_form": RequesterMessageForm(request.POST),
            "once": token,
        },
        status=403,
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; point them at ours."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def robots(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        "User-agent: *\nDisallow: /staff/\nDisallow: /status/\n", content_type="text/plain"
    )
