"""
The one door to decrypted case content.

Views get a case through `get_case_for`, which checks that the person is a
caseworker and answers 404 for an unknown reference. Its content opens only
through `open_case`, with the organisation keys of the caseworker's own
session (encryption.session): the audit entry is written before anything is
decrypted, and a session without keys (a caseworker still waiting for access,
or signed in before a grant) gets nothing. Changes (moves, notes, assignment)
record their own entries in cases.services.

Work that needs the organisation key but no person's attention (contact
fingerprints of new requests, moving envelopes to a new organisation key) is
done here too, a bounded batch at a time, while caseworkers with access work.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest

from accounts.roles import Role, has_role
from audit.services import record
from cases.models import Case, CaseNote, ReplyTemplate
from cases.selectors import earlier_requests
from encryption import services as key_services
from encryption.access import ContentKeys
from encryption.content import CannotOpen
from encryption.fields import Sealed, Unsealed
from encryption.fingerprint import current_fingerprint, fingerprints_for, is_current
from encryption.sealing import Envelope, seal_into, seal_to_requester
from encryption.session import keys_for
from intake.models import HelpRequest, RequestMessage
from intake.services import SEALED_REQUEST_FIELDS


def get_case_for(request: HttpRequest, reference: str) -> Case:
    if not has_role(request.user, Role.CASEWORKER):
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


def open_case(request: HttpRequest, case: Case) -> CaseContent:
    """
    The case's content in clear, opened with this caseworker's session keys,
    after the read is audited. Raises ContentLocked when the session cannot.
    """
    keys = keys_for(request)
    if not keys:
        raise ContentLocked
    help_request = case.request
    notes = list(case.notes.select_related("author").order_by("created_at", "pk"))
    messages = list(help_request.messages.select_related("author").order_by("sent_at", "pk"))
    record("case.view", actor=request.user, target=help_request.reference)
    try:
        keys.preload(([help_request], "content_key"), (notes + messages, "item_key"))
        opened = CaseContent(
            request=keys.open(help_request, *SEALED_REQUEST_FIELDS),
            notes=[Opened(note, keys.open_one(note, "body")) for note in notes],
            thread=[Opened(message, keys.open_one(message, "body")) for message in messages],
        )
    except CannotOpen:
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
            .only("pk", "contact", "content_key")[:limit]
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
                .only("pk", "contact", "content_key", "contact_fingerprint")[:batch_size]
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
