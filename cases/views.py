"""The caseworkers' pages: the triage queue and the case page with its actions."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import after_session_ends, staff_required
from accounts.roles import Role, has_role, home_url
from cases import services, undo
from cases.access import (
    ContentLocked,
    attachments_of,
    caseworker_door,
    get_case_for,
    open_case,
    readable,
    reply_notice_chat,
    work_in_passing,
)
from cases.due_views import FollowUpForm
from cases.forms import (
    AssignForm,
    MoveForm,
    NoteForm,
    OutsideContactForm,
    QueueFilterForm,
    ReplyForm,
    SavedViewNameForm,
    queue_sort,
    saved_query,
)
from cases.models import Case
from cases.retention import purge_date, purged_soon, retention_days
from cases.selectors import (
    QueueFilters,
    QueuePage,
    case_timeline,
    cases_with_new_messages,
    colleagues_with_access,
    held_count,
    my_unread_cases,
    new_requests,
    sorted_by,
    timeline_page,
    triage_queue,
    written_after_rejection,
)
from cases.template_views import reply_form_context
from cases.workflow import (
    FINAL_STATES,
    CaseState,
    Outcome,
    allowed_moves,
    is_allowed,
    needs_confirmation,
)
from core import confirmation
from encryption import drafts
from encryption.session import keys_for

PAGE_SIZE = 50
PURGE_LIST_SIZE = 20


@never_cache
@require_GET
@staff_required()
def queue(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.CASEWORKER):
        return redirect(home_url(request.user))
    return _caseworker_queue(request)


@caseworker_door
def _caseworker_queue(request: HttpRequest) -> HttpResponse:
    work_in_passing(request)
    colleagues = list(colleagues_with_access())
    form = QueueFilterForm(request.GET or None, colleagues=colleagues)
    filters = QueueFilters(**form.cleaned_data) if form.is_valid() else QueueFilters()
    filters.sort = sort = queue_sort(request.GET)
    page = QueuePage(triage_queue(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    kept = saved_query(request.GET, colleagues)
    return render(
        request,
        "cases/queue.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sort": sort,
            "sorting": sort_headers(request.GET, sort),
            "colleagues": colleagues,
            "saved_views": request.user.saved_views.all(),
            "saved_query": kept,
            # Filters that are not valid go back as they are, to be refused
            # with a reason rather than saved as the unfiltered queue.
            "query_to_save": request.GET.urlencode() if kept is None else kept,
            "view_form": SavedViewNameForm(auto_id="view_%s"),
            "new_messages": cases_with_new_messages(),
            "purged_soon": purged_soon(limit=PURGE_LIST_SIZE),
            "held": held_count(),
        },
    )


# The columns a header link sorts by, and the order its first click asks for.
SORT_COLUMNS = {
    "category": "category",
    "urgency": "-urgency",  # most urgent first
    "received": "received",  # oldest first
    "state": "state",
    "assignee": "assignee",
}


def sort_headers(given: QueryDict, sort: str) -> dict[str, dict[str, str]]:
    """
    For each sortable column, the address of its header link (the page's other
    parameters kept, back to the first page; the sort turned round if it is
    already this column's) and its `aria-sort` ("ascending", "descending" or "").
    """
    base = given.copy()
    base.pop("page", None)
    headers = {}
    for column, first in SORT_COLUMNS.items():
        direction = {column: "ascending", f"-{column}": "descending"}.get(sort, "")
        base["sort"] = {"ascending": f"-{column}", "descending": column}.get(direction, first)
        headers[column] = {"href": f"?{base.urlencode()}", "aria": direction}
    return headers


@never_cache
@require_GET
@caseworker_door
def new_cases(request: HttpRequest) -> HttpResponse:
    """What is new: requests nobody has triaged yet, newest first, and the cases
    whose requester wrote since a caseworker last looked."""
    work_in_passing(request)
    sort = queue_sort(request.GET)
    page = QueuePage(sorted_by(new_requests(), sort), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/new.html",
        {
            "page": page,
            "query": f"sort={sort}" if sort else "",
            "sorting": sort_headers(request.GET, sort),
            "colleagues": colleagues_with_access(),
            "new_messages": cases_with_new_messages(),
            "mine_wrote": my_unread_cases(request.user)
            .order_by("unread_message_at", "id")
            .values("request__reference", "state", "unread_message_at")[:PURGE_LIST_SIZE],
            "after_rejection": written_after_rejection(),
        },
    )


@never_cache
@require_GET
@caseworker_door
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    # Newer requests get their fingerprints first, so "wrote before" misses none.
    work_in_passing(request)
    page = timeline_page(case, request.GET.get("shown"))
    try:
        content = open_case(request, case, shown=page.shown)
    except ContentLocked:
        content = None
    else:
        services.mark_messages_read(case)
    moves = [
        {
            "state": state,
            "label": CaseState(state).label,
            "needs_outcome": state == "resolved",
            "final": state in FINAL_STATES,
            "confirm": needs_confirmation(state),
        }
        for state in allowed_moves(case.state)
    ]
    kept = drafts.take(request, request.path)
    response = render(
        request,
        "cases/case.html",
        {
            "case": case,
            "purge_date": purge_date(case),
            "now": timezone.now(),
            "help_request": case.request,
            "content": content,
            "attachments": attachments_of(case) if content else [],
            "timeline": case_timeline(case, content, shown=page.shown),
            "timeline_page": page,
            "moves": moves,
            "may_reopen": undo.may_reopen(case),
            **dict(zip(("merged_here", "related"), undo.relations(case), strict=True)),
            "outcomes": Outcome.choices,
            "caseworkers": colleagues_with_access(),
            "note_form": NoteForm(auto_id="note_%s", initial=kept.get("note")),
            "contact_form": OutsideContactForm(auto_id="contact_%s"),
            **reply_form_context(request, case, alias=content.request["alias"] if content else ""),
            **_kept_reply(kept),
            "can_wait": is_allowed(case.state, CaseState.WAITING),
            "notice_failed": case.request.reference in request.session.get(FAILED_NOTICES, []),
            "follow_up_form": FollowUpForm(
                auto_id="follow_up_%s", initial={"follow_up_on": case.follow_up_on}
            ),
        },
    )
    return drafts.drop(request, response)


def _kept_reply(kept: dict) -> dict:
    """A reply typed when the session ended goes back into its box (encryption.drafts)."""
    if "reply" not in kept:
        return {}
    return {"reply_form": ReplyForm(auto_id="reply_%s", initial=kept["reply"])}


@require_POST
@caseworker_door
@after_session_ends("cases:detail")
def case_move(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This move was not understood; nothing was changed."))
        return redirect("cases:detail", reference=reference)
    if _needs_confirmation(request, case, form.cleaned_data):
        return render(
            request,
            "cases/confirm_move.html",
            {
                "confirmation": confirmation.issue(
                    request, "case.move", _move(case, form.cleaned_data)
                ),
                "case": case,
                "help_request": case.request,
                "move": form.cleaned_data,
                "final": form.cleaned_data["to_state"] in FINAL_STATES,
                "retention_days": retention_days(),
            },
        )
    try:
        services.move_case(
            case,
            form.cleaned_data["to_state"],
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            expected_state=form.cleaned_data["expected_state"],
        )
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request, _("Moved to “%(state)s”.") % {"state": CaseState(case.state).label}
        )
    return redirect("cases:detail", reference=reference)


def _needs_confirmation(request: HttpRequest, case, move: dict) -> bool:
    """A move that cannot be undone (closed, rejected) or that takes the case out
    of active work (resolved) is asked again on a page of its own, unless it
    would be refused anyway (then the refusal says why); that page's one-time
    token confirms exactly this move of this case."""
    to_state = move["to_state"]
    return (
        needs_confirmation(to_state)
        and is_allowed(case.state, to_state)
        and move["expected_state"] == case.state
        and (to_state != CaseState.RESOLVED or bool(move["outcome"]))
        and not confirmation.redeem(request, "case.move", _move(case, move))
    )


def _move(case, move: dict) -> list[str]:
    """What a move's confirmation is bound to: this case, from this state to that."""
    return [
        f"case={case.request.reference}",
        f"to={move['to_state']}",
        f"outcome={move['outcome'] or ''}",
        f"from={move['expected_state']}",
    ]


@require_POST
@caseworker_door
@after_session_ends("cases:detail")
def case_assign(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = AssignForm(request.POST)
    choice = form.cleaned_data["assignee"] if form.is_valid() else None
    if choice == "me":
        assignee = request.user
    elif choice == "":
        assignee = None
    else:
        chosen = int(choice) if (choice or "").isdigit() else 0
        assignee = colleagues_with_access().filter(pk=chosen).first()
        if assignee is None:
            messages.error(request, _("Choose a caseworker; nothing was changed."))
            return redirect("cases:detail", reference=reference)
    services.assign_case(case, assignee, actor=request.user)
    if assignee:
        messages.success(request, _("Assigned to %(name)s.") % {"name": assignee.get_username()})
    else:
        messages.success(request, _("The case is unassigned."))
    return redirect("cases:detail", reference=reference)


@require_POST
@caseworker_door
@after_session_ends("cases:detail", form="note", fields=("body",))
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(case, form.cleaned_data["body"], author=request.user)
        except services.CaseError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("Note saved."))
    else:
        messages.error(request, " ".join(form.errors.get("body", [])))
    return redirect("cases:detail", reference=reference)


@require_POST
@caseworker_door
def case_contact(request: HttpRequest, reference: str) -> HttpResponse:
    """Record that the requester was contacted outside the system, and how."""
    case = get_case_for(request, reference)
    form = OutsideContactForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the requester was contacted; nothing was saved."))
        return redirect("cases:detail", reference=reference)
    try:
        services.record_outside_contact(
            case, form.cleaned_data["contacted_via"], form.cleaned_data["body"], author=request.user
        )
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The contact is recorded."))
    return redirect("cases:detail", reference=reference)


@require_POST
@caseworker_door
@after_session_ends("cases:detail", form="reply", fields=("body",))
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("body", [])))
        return redirect("cases:detail", reference=reference)
    body = form.cleaned_data["body"]
    if request.POST.get("then") == CaseState.WAITING:
        return _reply_and_wait(request, case, body)
    try:
        services.reply_to_requester(case, body, author=request.user)
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Message sent. The requester sees it with their receipt code."))
        _tell_requester(request, case)
    return redirect("cases:detail", reference=reference)


def _reply_and_wait(request: HttpRequest, case, body: str) -> HttpResponse:
    """Send and set waiting: asked again on a page of its own (the text is
    carried back in the form, never kept on the server), then done at once."""
    selection = [f"case={case.request.reference}", f"from={case.state}"]
    if not is_allowed(case.state, CaseState.WAITING):
        messages.error(
            request,
            _("A case in “%(state)s” cannot be set waiting; nothing was sent.")
            % {"state": CaseState(case.state).label},
        )
        return redirect("cases:detail", reference=case.request.reference)
    if not confirmation.redeem(request, "case.reply_wait", selection):
        return render(
            request,
            "cases/confirm_reply_wait.html",
            {
                "confirmation": confirmation.issue(request, "case.reply_wait", selection),
                "case": case,
                "help_request": case.request,
                "reply_form": ReplyForm(auto_id="reply_%s", initial={"body": body}),
            },
        )
    try:
        services.reply_and_wait(case, body, author=request.user, expected_state=case.state)
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Message sent, and the case now waits for the requester."))
        _tell_requester(request, case)
    return redirect("cases:detail", reference=case.request.reference)


# The session remembers only which case's reply notice failed (its reference),
# so the retry button shows on that case and nowhere else.
FAILED_NOTICES = "reply_notice_failed"


def _tell_requester(request: HttpRequest, case) -> None:
    """The requester asked (in the bot) to be told of replies: tell them now,
    from this request, and say on the page if Telegram did not take it."""
    try:
        chat_id = reply_notice_chat(request, case)
    except ContentLocked:
        messages.error(request, _("The reply notice could not be opened with your access."))
        return
    if chat_id is None:
        return
    failed = set(request.session.get(FAILED_NOTICES, []))
    if services.send_reply_notice(case, chat_id, actor=request.user):
        failed.discard(case.request.reference)
        messages.info(request, _("The requester was told in Telegram that there is an answer."))
    else:
        failed.add(case.request.reference)
        messages.error(
            request,
            _("The requester could not be told in Telegram that there is an answer."),
        )
    request.session[FAILED_NOTICES] = sorted(failed)


@require_POST
@caseworker_door
def case_reply_notice(request: HttpRequest, reference: str) -> HttpResponse:
    """Try the reply notice again, after it failed on this case in this session."""
    case = get_case_for(request, reference)
    if reference not in request.session.get(FAILED_NOTICES, []):
        messages.error(request, _("There is no failed reply notice to send again."))
    else:
        _tell_requester(request, case)
    return redirect("cases:detail", reference=reference)


@require_POST
@caseworker_door
@after_session_ends("cases:detail")
def case_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    """Reopen a rejected or closed case: asked first on a page of its own, where the
    reason is written; that page's one-time token confirms exactly this case."""
    case = get_case_for(request, reference)
    expected = request.POST.get("expected_state", "")
    binding = [f"case={reference}", f"from={expected}"]
    reason = request.POST.get("reason", "")
    if not (reason.strip() and confirmation.redeem(request, "case.reopen", binding)):
        if not undo.may_reopen(case):
            messages.error(request, _("This case cannot be reopened."))
            return redirect("cases:detail", reference=reference)
        return render(
            request,
            "cases/confirm_reopen.html",
            {
                "confirmation": confirmation.issue(request, "case.reopen", binding),
                "case": case,
                "help_request": case.request,
                "expected_state": expected or case.state,
                "reason": reason,
                "asked": "confirmation" in request.POST,
            },
        )
    try:
        undo.reopen_case(case, reason, actor=request.user, expected_state=expected)
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The case is open again, as “Triaged”."))
    return redirect("cases:detail", reference=reference)


RELATIONS = ("merge", "link", "unmerge", "unlink")


@require_POST
@caseworker_door
@after_session_ends("cases:detail")
def case_relate(request: HttpRequest, reference: str) -> HttpResponse:
    """
    Merge this (later) request into an earlier one, link the two, or undo
    either: asked first on a page of its own, whose one-time token confirms
    exactly this action on these two cases. Both must be readable with this
    caseworker's keys.
    """
    case = get_case_for(request, reference)
    action = request.POST.get("action", "")
    typed = request.POST.get("other", "").strip()
    other = Case.objects.select_related("request").filter(request__reference=typed).first()
    if action == "unmerge" and other is None and case.merged_into_id:
        other = case.merged_into
    refusal = _relation_refusal(request, case, other, action)
    if refusal:
        messages.error(request, refusal)
        return redirect("cases:detail", reference=reference)
    binding = [f"case={reference}", f"action={action}", f"other={other.request.reference}"]
    if not confirmation.redeem(request, "case.relate", binding):
        return render(
            request,
            "cases/confirm_relate.html",
            {
                "confirmation": confirmation.issue(request, "case.relate", binding),
                "case": case,
                "help_request": case.request,
                "other": other,
                "action": action,
            },
        )
    try:
        _relate(case, other, action, request)
    except services.CaseError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _relation_done(action, other))
    return redirect("cases:detail", reference=reference)


def _relation_refusal(request: HttpRequest, case, other, action: str) -> str:
    if action not in RELATIONS:
        return _("This action was not understood; nothing was changed.")
    if other is None:
        return _("No request has this reference; nothing was changed.")
    if not (readable(request, case) and readable(request, other)):
        return _("Your keys do not open both requests; nothing was changed.")
    if action == "merge":
        return undo.merge_refusal(case, other)
    if action == "link":
        return undo.link_refusal(case, other)
    if action == "unmerge" and case.merged_into_id != other.pk:
        return _("This request is not merged into that one.")
    return ""


def _relate(case, other, action: str, request: HttpRequest) -> None:
    if action == "merge":
        undo.merge_cases(case, other, actor=request.user, keys=keys_for(request))
    elif action == "link":
        undo.link_cases(case, other, actor=request.user)
    elif action == "unmerge":
        undo.unmerge_case(case, actor=request.user)
    else:
        undo.unlink_cases(case, other, actor=request.user)


def _relation_done(action: str, other) -> str:
    words = {
        "merge": _("Merged into %(reference)s: the thread goes on there."),
        "link": _("Linked with %(reference)s."),
        "unmerge": _("No longer merged into %(reference)s."),
        "unlink": _("No longer linked with %(reference)s."),
    }
    return words[action] % {"reference": other.request.reference}
