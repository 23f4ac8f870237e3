"""
Undoing a decision about a case: reopening one that was rejected or closed;
merging a request into an earlier one of the same person (and undoing it),
and linking related requests.

SPEC.md keeps `closed` and `rejected` final for the ordinary moves (the state
machine of cases.workflow); reopening is the caseworker's separate, audited
act that the role table names. It is asked first on a page of its own, it
needs a reason (sealed as a note: it may say something about the person), and
it is possible only while the content is still there: once the retention
purge or a shred erased it, there is nothing to go back to.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cases.models import Case, CaseEvent, CaseLink, CaseNote
from cases.selectors import forget_nav_counts
from cases.services import CaseError, StaleCase
from cases.workflow import DONE_STATES, FINAL_STATES, CaseState
from encryption.access import ContentKeys
from encryption.sealing import seal_item, seal_to_requester
from intake.messages import thread_requests
from intake.models import HelpRequest, MessageCopy, RequestMessage

# Where a reopened case starts again: read, to be worked on.
REOPENED_STATE = CaseState.TRIAGED


def may_reopen(case: Case) -> bool:
    return case.state in FINAL_STATES and case.purged_at is None


def reopen_case(case: Case, reason: str, *, actor: AbstractBaseUser, expected_state: str) -> Case:
    """
    Move a rejected or closed case back to `triaged`, with `reason` kept as a
    sealed note. A closed case's resolution no longer counts (as when a
    resolved case goes back to work); the retention clock starts again.
    """
    reason = reason.strip()
    if not reason:
        raise CaseError(_("Say why the case is reopened."))
    note = CaseNote(case=case, author=actor)
    envelope = seal_item(note, "body", _("Reopened: %(reason)s") % {"reason": reason})
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("request").get(pk=case.pk)
        if locked.state != expected_state:
            raise StaleCase(
                _("This case was moved to “%(state)s” in the meantime; nothing was changed.")
                % {"state": CaseState(locked.state).label}
            )
        if locked.state not in FINAL_STATES:
            raise CaseError(_("Only a rejected or closed case can be reopened."))
        if locked.purged_at is not None:
            raise CaseError(_("This case's content was erased: it cannot be reopened."))
        now = timezone.now()
        from_state = locked.state
        Case.objects.filter(pk=locked.pk).update(
            state=REOPENED_STATE,
            outcome="",
            resolved_at=None,
            closed_at=None,
            last_activity_at=now,
            updated_at=now,
        )
        envelope.row.save(force_insert=True)
        note.save(force_insert=True)
        CaseEvent.objects.create(
            case=locked, from_state=from_state, to_state=REOPENED_STATE, actor=actor, at=now
        )
        record(
            "case.reopen",
            actor=actor,
            target=locked.request.reference,
            from_state=from_state,
            to_state=REOPENED_STATE,
            note=note.pk,
        )
    forget_nav_counts()
    case.refresh_from_db()
    return case


# --- merging a later request into an earlier one, and linking two --------------------


def merge_refusal(source: Case, target: Case) -> str:
    """Why `source` cannot be merged into `target` ("" if it can)."""
    if source.pk == target.pk:
        return _("A request cannot be merged into itself.")
    if (target.request.received_at, target.pk) > (source.request.received_at, source.pk):
        return _("Merge the later request into the earlier one: open the later one.")
    if source.merged_into_id is not None:
        return _("This request is already merged into another.")
    if target.merged_into_id is not None:
        return _("The other request is merged into a third: merge into that one.")
    if source.merged.exists():
        return _("Other requests are merged into this one: it can only take, not be merged.")
    if source.purged_at is not None or target.purged_at is not None:
        return _("The content of one of them was erased.")
    return ""


def merge_cases(source: Case, target: Case, *, actor: AbstractBaseUser, keys: ContentKeys) -> None:
    """
    Merge the later request `source` into the earlier `target`: the later case
    is closed (its own rows stay), the thread goes on in the earlier one, and
    every message of both is sealed to both requesters (MessageCopy), opened
    for it with this caseworker's `keys`. Undone by `unmerge_case` until the
    content is erased.
    """
    with transaction.atomic():
        source, target = _locked(source, target)
        refusal = merge_refusal(source, target)
        if refusal:
            raise CaseError(refusal)
        now = timezone.now()
        Case.objects.filter(pk=source.pk).update(
            merged_into=target,
            state=CaseState.CLOSED,
            closed_at=now,
            waiting_since=None,
            follow_up_on=None,
            unread_message_at=None,
            last_activity_at=now,
            updated_at=now,
        )
        Case.objects.filter(pk=target.pk).update(
            last_activity_at=now,
            updated_at=now,
            unread_message_at=max(
                (t for t in (target.unread_message_at, source.unread_message_at) if t),
                default=None,
            ),
        )
        CaseEvent.objects.create(
            case=source, from_state=source.state, to_state=CaseState.CLOSED, actor=actor, at=now
        )
        _seal_thread_to_everyone(target.request, keys)
        record(
            "case.merge",
            actor=actor,
            target=source.request.reference,
            other=target.request.reference,
            from_state=source.state,
        )
    forget_nav_counts()


def _locked(*cases: Case) -> list[Case]:
    found = {
        case.pk: case
        for case in Case.objects.select_for_update(of=("self",))
        .select_related("request", "merged_into")
        .filter(pk__in=[c.pk for c in cases])
    }
    return [found[c.pk] for c in cases]


def _seal_thread_to_everyone(owner: HelpRequest, keys: ContentKeys) -> None:
    """Every message of the merged thread sealed to every requester of it who lacks it."""
    requests = thread_requests(owner)
    messages = list(
        RequestMessage.objects.filter(request__in=[r.pk for r in requests])
        .exclude(item_key=b"")
        .select_related("request")
    )
    have = set(
        MessageCopy.objects.filter(message__in=[m.pk for m in messages]).values_list(
            "message_id", "request_id"
        )
    )
    keys.preload((messages, "item_key"))
    copies = []
    for message in messages:
        for reader in requests:
            public = bytes(reader.requester_public_key or b"")
            if reader.pk == message.request_id or not public or (message.pk, reader.pk) in have:
                continue
            key = keys.key_of(message, "body")
            copies.append(
                MessageCopy(
                    message=message, request=reader, sealed_key=seal_to_requester(public, key)
                )
            )
    MessageCopy.objects.bulk_create(copies)


def may_unmerge(case: Case) -> bool:
    return case.merged_into_id is not None and case.purged_at is None


def unmerge_case(case: Case, *, actor: AbstractBaseUser) -> None:
    """
    Undo a merge while the content is still there: the later case goes back to
    the state it had, and the copies that let each requester read the other's
    messages are deleted. Messages written into the earlier case's thread after
    the merge stay with it.
    """
    with transaction.atomic():
        (source,) = _locked(case)
        if not may_unmerge(source):
            raise CaseError(_("This request is not merged, or its content was erased."))
        target = source.merged_into
        merged = source.events.filter(to_state=CaseState.CLOSED).order_by("-at", "-pk").first()
        back_to = merged.from_state if merged and merged.from_state else CaseState.TRIAGED
        now = timezone.now()
        Case.objects.filter(pk=source.pk).update(
            merged_into=None,
            state=back_to,
            closed_at=now if back_to in DONE_STATES else None,
            last_activity_at=now,
            updated_at=now,
        )
        CaseEvent.objects.create(
            case=source, from_state=CaseState.CLOSED, to_state=back_to, actor=actor, at=now
        )
        MessageCopy.objects.filter(request=source.request).delete()
        MessageCopy.objects.filter(message__request=source.request).delete()
        record(
            "case.unmerge",
            actor=actor,
            target=source.request.reference,
            other=target.request.reference,
            to_state=back_to,
        )
    forget_nav_counts()


def relations(case: Case) -> tuple[list[Case], list[Case]]:
    """The cases merged into this one, and those linked with it, by received
    time: one query (the case page counts its queries)."""
    links = CaseLink.objects.all()
    rows = (
        Case.objects.filter(
            Q(merged_into=case)
            | Q(pk__in=links.filter(case=case).values("other"))
            | Q(pk__in=links.filter(other=case).values("case"))
        )
        .select_related("request")
        .order_by("request__received_at", "pk")
    )
    merged, linked = [], []
    for other in rows:
        (merged if other.merged_into_id == case.pk else linked).append(other)
    return merged, linked


def link_refusal(case: Case, other: Case) -> str:
    if case.pk == other.pk:
        return _("A request cannot be linked with itself.")
    low, high = sorted((case.pk, other.pk))
    if CaseLink.objects.filter(case_id=low, other_id=high).exists():
        return _("These requests are already linked.")
    if case.purged_at is not None or other.purged_at is not None:
        return _("The content of one of them was erased.")
    return ""


def link_cases(case: Case, other: Case, *, actor: AbstractBaseUser) -> None:
    """Mark two requests as related: each shows the other on its page."""
    with transaction.atomic():
        refusal = link_refusal(case, other)
        if refusal:
            raise CaseError(refusal)
        low, high = sorted((case, other), key=lambda c: c.pk)
        CaseLink.objects.create(case=low, other=high, created_by=actor)
        record(
            "case.link", actor=actor, target=case.request.reference, other=other.request.reference
        )


def unlink_cases(case: Case, other: Case, *, actor: AbstractBaseUser) -> None:
    """Undo a link (until the content of either is erased)."""
    with transaction.atomic():
        low, high = sorted((case.pk, other.pk))
        if case.purged_at is not None or other.purged_at is not None:
            raise CaseError(_("The content of one of them was erased."))
        deleted, _found = CaseLink.objects.filter(case_id=low, other_id=high).delete()
        if not deleted:
            raise CaseError(_("These requests are not linked."))
        record(
            "case.unlink",
            actor=actor,
            target=case.request.reference,
            other=other.request.reference,
        )
