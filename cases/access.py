"""
The one door to decrypted case content, and to acting for the organisation.

Every caseworker page goes through `caseworker_door`, and every case through
`get_case_for`: both ask `may_act`, the one check of what acting for the
organisation needs, which is its key, not only the caseworker role (a reply
goes to a requester in the organisation's name). A caseworker whose session
does not hold a live organisation key (waiting for access, revoked, or signed
in with the session cookie but not `tropa_unlock`) sees only the page that says
so; anything such a session posts is refused, changes nothing and is audited
as `case.refused` (docs/encryption.md, Who can do what).

`get_case_for` answers 404 for an unknown reference. A case's content opens only
through `open_case`, with the organisation keys of the caseworker's own
session (encryption.session): the audit entry is written before anything is
decrypted, and a session without keys (a caseworker still waiting for access,
or signed in before a grant) gets nothing. Changes (moves, notes, assignment)
record their own entries in cases.services.

Work that needs the organisation key but no person's attention (contact
fingerprints of new requests, moving envelopes to a new organisation key) is
done here too, a bounded batch at a time, while caseworkers with access work.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import staff_required
from accounts.roles import Role, has_role
from audit.services import record
from cases.models import Case, CaseNote, ReplyTemplate
from cases.selectors import earlier_requests, newest
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.binding import bind
from encryption.content import CannotOpen
from encryption.fields import Sealed, Unsealed
from encryption.fingerprint import current_fingerprint, fingerprints_for, is_current
from encryption.models import OrganisationKey
from encryption.sealing import Envelope, seal_into, seal_to_requester
from encryption.session import keys_for
from intake.attachments.services import IMAGE_PURPOSE, THUMBNAIL_PURPOSE, read_object
from intake.models import Attachment, HelpRequest, RequestMessage
from intake.services import SEALED_REQUEST_FIELDS

# Organisation keys that still seal something; a session holding only retired
# ones opens nothing and may not act.
_LIVE = (OrganisationKey.State.ACTIVE, OrganisationKey.State.RETIRING)


def may_act(request: HttpRequest) -> bool:
    """
    Whether this request may act for the organisation (reply, move, assign,
    write a note or a template, release or reject held requests, set a
    follow-up) and see its cases: a caseworker whose session holds a live
    organisation key (both cookies) and who still holds a grant of the active
    one. The grant is read from the database on every request, so a
    revocation takes effect even in a session that outlived it.
    """
    cached = getattr(request, "_may_act", None)
    if cached is None:
        cached = request._may_act = _holds_the_organisation_key(request)
    return cached


def _holds_the_organisation_key(request: HttpRequest) -> bool:
    if not has_role(request.user, Role.CASEWORKER):
        return False
    keys = keys_for(request)
    if not keys:
        return False
    states = keys.key_states()
    if not any(states.get(key_id) in _LIVE for key_id in keys.key_ids):
        return False
    return key_services.has_access(request.user)


def refuse(request: HttpRequest, target: str = "") -> None:
    """Audit a refused action (who, which page, and the case it was aimed at:
    only a stored reference, never whatever was typed into the address)."""
    match = getattr(request, "resolver_match", None)
    if target and not HelpRequest.objects.filter(reference=target).exists():
        target = ""
    record(
        "case.refused",
        actor=request.user,
        target=target,
        page=match.view_name if match else "",
        reason="no_organisation_key",
    )


def caseworker_door(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """
    The door of every caseworker page: a verified caseworker (staff_required),
    then `may_act`. Without it, reading pages lead to the "waiting for access"
    page (/staff/access/), and anything else is refused (403), audited, and
    never reaches the view.
    """

    @staff_required(Role.CASEWORKER)
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if may_act(request):
            return view(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            return redirect("accounts:access")
        refuse(request, target=str(kwargs.get("reference", "")))
        return render(request, "cases/needs_access.html", status=403)

    return wrapped


def get_case_for(request: HttpRequest, reference: str) -> Case:
    if not has_role(request.user, Role.CASEWORKER):
        raise PermissionDenied
    if not may_act(request):
        # Every caseworker page passes caseworker_door first; this keeps a
        # view that forgot it from handing out a case all the same.
        refuse(request, target=reference)
        raise PermissionDenied
    case = (
        Case.objects.select_related("request", "assigned_to")
        .filter(request__reference=reference)
        .first()
    )
    if case is None:
        raise Http404
    return case


@dataclass
class Opened:
    """A note or message with its text in clear, for one page."""

    item: CaseNote | RequestMessage
    text: str


@dataclass
class CaseContent:
    """Everything a caseworker reads on a case page, decrypted for this request only."""

    request: dict[str, str]
    notes: list[Opened] = field(default_factory=list)
    thread: list[Opened] = field(default_factory=list)
    earlier: list[dict] = field(default_factory=list)


class ContentLocked(Exception):
    """The session holds no key that opens this case (waiting for access, or signed
    in before a grant or a rotation)."""


def open_case(request: HttpRequest, case: Case, shown: int | None = None) -> CaseContent:
    """
    The case's content in clear, opened with this caseworker's session keys,
    after the read is audited. Raises ContentLocked when the session cannot.
    With `shown`, only the newest `shown` notes and messages are fetched and
    opened: a thread of thousands costs what a page of them costs.
    """
    keys = keys_for(request)
    if not keys:
        raise ContentLocked
    help_request = case.request
    notes = newest(case.notes.select_related("author"), ("created_at", "pk"), shown)
    messages = newest(help_request.messages.select_related("author"), ("sent_at", "pk"), shown)
    record("case.view", actor=request.user, target=help_request.reference)
    try:
        keys.preload(([help_request], "content_key"), (notes + messages, "item_key"))
        opened = CaseContent(
            request=keys.open(help_request, *SEALED_REQUEST_FIELDS),
            notes=[Opened(note, keys.open_one(note, "body")) for note in notes],
            thread=[Opened(message, keys.open_one(message, "body")) for message in messages],
        )
        # Content sealed before version 2 is bound to this request now that it
        # is open (encryption.binding): once, in passing.
        for item in [help_request, *notes, *messages]:
            bind(keys, item)
    except CannotOpen:
        # A key this session lacks, or a value or key bound to another request
        # (copied here in the database): the case shows as closed, never a 500.
        raise ContentLocked from None
    _remember_fingerprint(keys, help_request, opened.request["contact"])
    opened.earlier = list(
        earlier_requests(help_request, fingerprints_for(keys, opened.request["contact"]))
    )
    _seal_to_requester(keys, help_request, messages)
    return opened


def _remember_fingerprint(keys: ContentKeys, help_request: HelpRequest, contact: str) -> None:
    if contact and not is_current(help_request.contact_fingerprint, keys):
        fingerprint = current_fingerprint(keys, contact)
        if fingerprint:
            HelpRequest.objects.filter(pk=help_request.pk).update(contact_fingerprint=fingerprint)
            help_request.contact_fingerprint = fingerprint


def _seal_to_requester(
    keys: ContentKeys, help_request: HelpRequest, messages: list[RequestMessage]
) -> None:
    """
    Messages stored before the requester's key was known (before content keys
    existed) are sealed to it as soon as it is: the requester then reads the
    whole thread again (docs/encryption.md, Migration).
    """
    public = bytes(help_request.requester_public_key or b"")
    if not public:
        return
    for message in messages:
        if isinstance(message.body, Sealed) and not message.requester_key:
            sealed = seal_to_requester(public, keys.key_of(message, "body"))
            RequestMessage.objects.filter(pk=message.pk, requester_key=b"").update(
                requester_key=sealed
            )


def reply_notice_chat(request: HttpRequest, case: Case) -> int | None:
    """
    The Telegram chat id this case's requester asked to be told of replies in,
    opened with this caseworker's session keys (it is sealed like the rest of
    the request: the server alone cannot learn it), or None if they did not
    ask. Raises ContentLocked when the session cannot open it. Used only to
    send the fixed reply notice in this same request (telegram_bot.notice).
    """
    help_request = case.request
    if not help_request.reply_chat:
        return None
    keys = keys_for(request)
    if not keys or not may_act(request):
        raise ContentLocked
    try:
        text = keys.open_one(help_request, "reply_chat")
    except CannotOpen:
        raise ContentLocked from None
    return int(text) if text.isdigit() else None


# --- attachments ------------------------------------------------------------------


@dataclass
class OpenedAttachment:
    """One attachment's clean image (or thumbnail) in clear, for one response."""

    attachment: Attachment
    data: bytes
    media_type: str


def attachments_of(case: Case) -> list[Attachment]:
    """The case's attachments (what the page lists: no content, nothing to open)."""
    return list(
        Attachment.objects.filter(request=case.request)
        .select_related("message")
        .order_by("message__sent_at", "message_id", "position", "page", "pk")
    )


def open_attachment(
    request: HttpRequest, case: Case, uid: str, part: str, *, download: bool = False
) -> OpenedAttachment:
    """
    An attachment's image or thumbnail (`part`) in clear, opened with this
    caseworker's session keys after the read is audited. Http404 for an
    attachment of another case or one whose object is gone; ContentLocked when
    the session cannot open it (no key, or an object moved from elsewhere).
    """
    keys = keys_for(request)
    if not keys:
        raise ContentLocked
    attachment = (
        Attachment.objects.select_related("request", "message__request")
        .filter(request=case.request, uid=uid)
        .first()
    )
    if attachment is None:
        raise Http404
    record(
        "attachment.download" if download else "attachment.view",
        actor=request.user,
        target=case.request.reference,
        file=f"{attachment.position}.{attachment.page}",
        part=part,
    )
    try:
        sealed = read_object(attachment, part)
    except OSError:
        raise Http404 from None
    owner, field_name = (
        (attachment.message, "body") if attachment.message_id else (attachment.request, "narrative")
    )
    purpose = THUMBNAIL_PURPOSE if part == "thumbnail" else IMAGE_PURPOSE
    try:
        data = keys.open_object(owner, field_name, sealed, purpose, attachment.sealed_row)
    except CannotOpen:
        raise ContentLocked from None
    media_type = attachment.thumbnail_type if part == "thumbnail" else attachment.media_type
    return OpenedAttachment(attachment, data, media_type)


# --- reply templates ------------------------------------------------------------------


@dataclass
class OpenedTemplate:
    """A reply template with its title and text in clear, for one page."""

    template: ReplyTemplate
    title: str
    body: str

    @property
    def pk(self) -> int:
        return self.template.pk

    @property
    def language(self) -> str:
        return self.template.language

    def get_language_display(self) -> str:
        return self.template.get_language_display()

    @property
    def updated_at(self):
        return self.template.updated_at

    @property
    def updated_by(self):
        return self.template.updated_by


def open_templates(keys: ContentKeys) -> list[OpenedTemplate]:
    """
    Every reply template in clear, by language then title, opened with this
    session's keys. Raises ContentLocked when the session holds no key or a
    key that does not open them all (signed in before a rotation). Reading a
    template is not audited: it is the organisation's own text, not a case's;
    its changes are.

    A template written before templates were sealed is sealed to the
    organisation here, the first time a caseworker with access opens them
    (docs/encryption.md, Migration); `seal_content` does the same.
    """
    templates = list(ReplyTemplate.objects.select_related("updated_by").order_by("pk"))
    opened = _open_templates(keys, templates)
    return sorted(opened, key=lambda o: (o.language, o.title.casefold(), o.pk))


def open_template(keys: ContentKeys, pk: int) -> OpenedTemplate:
    """One template in clear; Http404 if there is none, ContentLocked as open_templates."""
    template = ReplyTemplate.objects.select_related("updated_by").filter(pk=pk).first()
    if template is None:
        raise Http404
    return _open_templates(keys, [template])[0]


def _open_templates(keys: ContentKeys, templates: list[ReplyTemplate]) -> list[OpenedTemplate]:
    if not keys:
        raise ContentLocked
    _seal_plain_templates(templates)
    keys.preload((templates, "item_key"))
    try:
        return [OpenedTemplate(t, **keys.open(t, "title", "body")) for t in templates]
    except CannotOpen:
        raise ContentLocked from None


def _seal_plain_templates(templates: list[ReplyTemplate]) -> None:
    plain = [t for t in templates if isinstance(t.title, Unsealed) or isinstance(t.body, Unsealed)]
    if not plain:
        return
    envelope = Envelope()
    with transaction.atomic():
        envelope.row.save(force_insert=True)
        for template in plain:
            texts = {"title": str(template.title), "body": str(template.body)}
            seal_into(template, texts, envelope)
            # Only if no one sealed or changed it meanwhile (the same caseworker in two tabs).
            ReplyTemplate.objects.filter(pk=template.pk, item_key=b"").update(
                title=template.title, body=template.body, item_key=template.item_key
            )


# --- work done in passing -------------------------------------------------------------

# What opening a request's contact reads: the reference is what it is bound to.
SEALED_ROW_COLUMNS = ("pk", "reference", "contact", "content_key")


def fingerprint_backlog(keys: ContentKeys, limit: int) -> int:
    """
    Fingerprint up to `limit` requests that have a contact and no fingerprint
    yet (new since the last caseworker visit, or imported), under the active
    organisation key. Returns how many were done.
    """
    if keys.active_key_id() is None:
        return 0
    with transaction.atomic():
        backlog = list(
            HelpRequest.objects.select_for_update(skip_locked=True)
            .filter(contact_fingerprint="", contact__isnull=False)
            .order_by("pk")
            .only(*SEALED_ROW_COLUMNS)[:limit]
        )
        keys.preload((backlog, "content_key"))
        for help_request in backlog:
            fingerprint = current_fingerprint(keys, keys.open_one(help_request, "contact"))
            # A contact that normalises to nothing still counts as done.
            HelpRequest.objects.filter(pk=help_request.pk).update(
                contact_fingerprint=fingerprint or "-"
            )
    return len(backlog)


def work_in_passing(request: HttpRequest) -> None:
    """A bounded share of the key work, on a page a caseworker with access opens."""
    keys = keys_for(request)
    if not keys:
        return
    limit = settings.CONTENT_BACKLOG_BATCH
    try:
        fingerprint_backlog(keys, limit)
        if keys.replacing():
            key_services.reseal_envelopes(keys, limit=limit)
    except CannotOpen:
        # A value this session's keys do not open: the next session will.
        return


def refingerprint_all(keys: ContentKeys, *, batch_size: int = 1000, progress=None) -> int:
    """
    Every fingerprint not made with the active organisation key, made again
    with it (after a rotation of that key), batch by batch in primary-key
    order; safe to interrupt and run again. Returns how many changed.
    """
    active = keys.active_key_id()
    if active is None:
        return 0
    prefix, changed, last_pk = f"k{active}:", 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                HelpRequest.objects.filter(pk__gt=last_pk, contact__isnull=False)
                .order_by("pk")
                # The reference too: the content is bound to it (docs/encryption.md).
                .only(*SEALED_ROW_COLUMNS, "contact_fingerprint")[:batch_size]
            )
            if not batch:
                return changed
            stale = [r for r in batch if not r.contact_fingerprint.startswith(prefix)]
            keys.preload((stale, "content_key"))
            for help_request in stale:
                fingerprint = current_fingerprint(keys, keys.open_one(help_request, "contact"))
                HelpRequest.objects.filter(pk=help_request.pk).update(
                    contact_fingerprint=fingerprint or "-"
                )
            changed += len(stale)
        last_pk = batch[-1].pk
        if progress:
            progress(last_pk, changed)


def readable(request: HttpRequest, case: Case) -> bool:
    """
    Whether this session's keys open this case's content: its request key
    unwraps (nothing is decrypted, so nothing is read). A merge or a link
    needs both cases readable by whoever makes it.
    """
    keys = keys_for(request)
    help_request = case.request
    if not keys or case.purged_at is not None or not help_request.content_key:
        return False
    try:
        keys.key_of(help_request, "narrative")
    except CannotOpen:
        return False
    return True
