"""The caseworkers' pages: the triage queue and the case page with its actions."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_required
from accounts.roles import Role, has_role, home_url
from cases import services
from cases.access import (
    ContentLocked,
    attachments_of,
    caseworker_door,
    get_case_for,
    open_case,
    work_in_passing,
)
from cases.due_views import FollowUpForm
from cases.forms import AssignForm, MoveForm, NoteForm, QueueFilterForm, ReplyForm
from cases.retention import purge_date, purged_soon, retention_days
from cases.selectors import (
    QueueFilters,
    QueuePage,
    case_timeline,
    cases_with_new_messages,
    held_count,
    new_requests,
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
    form = QueueFilterForm(request.GET or None)
    filters = QueueFilters(**form.cleaned_data) if form.is_valid() else QueueFilters()
    page = QueuePage(triage_queue(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/queue.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "new_messages": cases_with_new_messages(),
            "purged_soon": purged_soon(limit=PURGE_LIST_SIZE),
            "held": held_count(),
        },
    )


@never_cache
@require_GET
@caseworker_door
def new_cases(request: HttpRequest) -> HttpResponse:
    """What is new: requests nobody has triaged yet, newest first, and the cases
    whose requester wrote since a caseworker last looked."""
    work_in_passing(request)
    page = QueuePage(new_requests(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/new.html",
        {
            "page": page,
            "query": "",
            "new_messages": cases_with_new_messages(),
            "after_rejection": written_after_rejection(),
        },
    )


def caseworkers():
    return (
        get_user_model()
        .objects.filter(groups__name=Role.CASEWORKER, is_active=True)
        .order_by("username")
        .only("id", "username")
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
    return render(
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
            "outcomes": Outcome.choices,
            "caseworkers": caseworkers(),
            "note_form": NoteForm(auto_id="note_%s"),
            **reply_form_context(request, case),
            "follow_up_form": FollowUpForm(
                auto_id="follow_up_%s", initial={"follow_up_on": case.follow_up_on}
            ),
        },
    )


@require_POST
@caseworker_door
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
def case_assign(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = AssignForm(request.POST)
    choice = form.cleaned_data["assignee"] if form.is_valid() else None
    if choice == "me":
        assignee = request.user
    elif choice == "":
        assignee = None
    else:
        assignee = caseworkers().filter(pk=choice if (choice or "").isdigit() else 0).first()
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
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request, reference)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply_to_requester(case, form.cleaned_data["body"], author=request.user)
        except services.CaseError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request, _("Message sent. The requester sees it with their receipt code.")
            )
    else:
        messages.error(request, " ".join(form.errors.get("body", [])))
    return redirect("cases:detail", reference=reference)
