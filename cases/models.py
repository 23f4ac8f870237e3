"""Cases, the record of their moves, and encrypted notes."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.workflow import ACTIVE_STATES, FINAL_STATES, CaseState, Outcome
from encryption.fields import SealedTextField
from intake.vocabulary import Language

# The triage queue's order (cases.selectors.QUEUE_ORDER): most urgent first;
# within an urgency, cases nobody has triaged yet first; then oldest first.
TRIAGE_ORDER = (
    "priority",
    models.Case(models.When(state=CaseState.NEW, then=0), default=1),
    "created_at",
)


class Flood(models.Model):
    """
    A spell when submissions went over INTAKE_GLOBAL_LIMIT. Requests received
    during it are stored, with their receipts, but held out of the triage queue
    (Case.flood) until a caseworker releases them or rejects them as spam.
    """

    # Hours (core.clock), like the requests it holds.
    started_at = models.DateTimeField(_("started at"), unique=True)
    last_held_at = models.DateTimeField(_("last request held at"))
    held = models.PositiveIntegerField(_("requests held"), default=0)
    # What its requests still held take in the database (cases.selectors.held_size):
    # the hold list is sized by bytes (INTAKE_HOLD_LIMIT), so a flood of short
    # texts cannot fill it before a day of floods has passed.
    held_bytes = models.PositiveBigIntegerField(_("bytes held"), default=0, db_default=0)

    class Meta:
        verbose_name = _("flood")
        verbose_name_plural = _("floods")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"flood from {self.started_at:%Y-%m-%d %H}h ({self.held})"


class FloodRejection(models.Model):
    """
    One confirmed action that rejects as spam every request held in a time
    window (received from `since` up to, not including, `until`), run in the
    background (cases.tasks.reject_held_window) so a flood of 20,000 needs no
    200 pages of confirmations. Only cases already held when it was confirmed
    (id up to `last_case_id`) are rejected: a request held afterwards is not.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Could not be started")

    since = models.DateTimeField(_("held requests received from"))
    until = models.DateTimeField(_("up to"))
    last_case_id = models.PositiveBigIntegerField()
    # How many were held in the window when it was confirmed, and how many have
    # been rejected so far: the progress shown on the held list.
    expected = models.PositiveIntegerField(_("expected"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("flood rejection")
        verbose_name_plural = _("flood rejections")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"flood rejection {self.pk}: {self.rejected}/{self.expected} ({self.state})"


class Case(models.Model):
    request = models.OneToOneField(
        "intake.HelpRequest",
        on_delete=models.PROTECT,
        related_name="case",
        verbose_name=_("request"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=CaseState.choices, default=CaseState.NEW
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        # case_assignee_idx (assigned_to, state) serves every lookup by assignee.
        db_index=False,
        related_name="assigned_cases",
        verbose_name=_("assigned to"),
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    # The request's urgency as a rank (0 = critical): the queue sorts by it.
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # For a case opened by a request, its received_at: the hour (core.clock).
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Set by each change (cases.services), never automatically: a save on a
    # requester's behalf must not write the exact time.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Set when the requester writes, cleared when a caseworker opens the case.
    unread_message_at = models.DateTimeField(_("unread message since"), null=True, blank=True)
    # Set once caseworkers were told about the new request (intake.tasks).
    notified_at = models.DateTimeField(_("caseworkers notified at"), null=True, blank=True)
    # The retention clock (cases.retention): every move, note or message sets it
    # to now, so a closed case is kept RETENTION_DAYS after its last activity.
    last_activity_at = models.DateTimeField(
        _("last activity"), default=timezone.now, db_default=Now()
    )
    # When the retention purge erased the case's content; slugs and dates stay.
    purged_at = models.DateTimeField(_("content erased at"), null=True, blank=True)
    # Set while the case is held out of the queue because it arrived during a
    # flood (cases.services.release_held / reject_held_as_spam clear it).
    flood = models.ForeignKey(
        Flood,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="held_cases",
        verbose_name=_("held during the flood"),
        db_index=False,  # case_held_idx
    )
    # While held only: a keyed digest of the normalised narrative, so identical
    # copies are grouped without decrypting anything. Cleared on release or
    # rejection, so it cannot later be used to test a guessed text.
    flood_digest = models.CharField(
        max_length=64, blank=True, editable=False, default="", db_default=""
    )
    # "Follow up on DATE", set by a caseworker (cases.follow_up); a move that
    # ends the case clears it. The Due view lists cases whose day has come.
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    # When the case last moved to "waiting" (for the requester); cleared when it
    # moves on. Past WAITING_FLAG_DAYS the case is flagged and shows as due.
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    # A later request merged into an earlier one (cases.undo.merge_cases): it is
    # closed, its thread goes on in the earlier one, and both receipt codes read it.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name=_("merged into"),
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [
            ("read_case_content", _("Can read the decrypted content of cases")),
            ("view_statistics", _("Can see monthly figures and reports")),
            ("export_statistics", _("Can export anonymised statistics")),
        ]
        indexes = [
            # The triage queue, in its order (TRIAGE_ORDER).
            models.Index(
                *(models.F(part) if isinstance(part, str) else part for part in TRIAGE_ORDER),
                condition=models.Q(state__in=ACTIVE_STATES, flood__isnull=True),
                name="case_triage_idx",
            ),
            # The New view, newest first, and the count of new requests in the
            # menu (answered from the index alone).
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(state=CaseState.NEW, flood__isnull=True),
                name="case_new_idx",
            ),
            # The held list: held cases grouped by identical narrative.
            models.Index(
                fields=["flood", "flood_digest"],
                condition=models.Q(flood__isnull=False),
                name="case_held_idx",
            ),
            models.Index(fields=["state", "created_at"], name="case_state_idx"),
            # Monthly reports count resolutions by the month of resolved_at.
            # (Only resolved cases: a range on resolved_at implies it is set.)
            models.Index(
                fields=["resolved_at", "outcome"],
                condition=models.Q(resolved_at__isnull=False),
                name="case_resolved_idx",
            ),
            models.Index(fields=["assigned_to", "state"], name="case_assignee_idx"),
            models.Index(
                fields=["unread_message_at"],
                condition=models.Q(unread_message_at__isnull=False),
                name="case_unread_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(notified_at__isnull=True),
                name="case_unnotified_idx",
            ),
            # The Due view and the daily digest: follow-ups whose day has come,
            # and cases waiting too long for the requester, one caseworker's
            # (assignee first) or everyone's (the whole of these small indexes).
            models.Index(
                fields=["assigned_to", "follow_up_on"],
                condition=models.Q(follow_up_on__isnull=False),
                name="case_follow_up_idx",
            ),
            models.Index(
                fields=["assigned_to", "waiting_since"],
                condition=models.Q(state=CaseState.WAITING),
                name="case_waiting_idx",
            ),
            # The retention purge: finished cases whose content is still there.
            models.Index(
                fields=["last_activity_at"],
                condition=models.Q(state__in=FINAL_STATES, purged_at__isnull=True),
                name="case_retention_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=CaseState.values), name="case_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="") | models.Q(outcome__in=Outcome.values),
                name="case_outcome_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=CaseState.RESOLVED) | ~models.Q(outcome=""),
                name="case_resolved_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference} ({self.state})"


class CaseLink(models.Model):
    """Two requests a caseworker marked as related (cases.undo.link_cases), each
    shown on the other's page; stored once, the lower case id first."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("related requests")
        verbose_name_plural = _("related requests")
        constraints = [
            models.UniqueConstraint(fields=["case", "other"], name="case_link_once"),
            models.CheckConstraint(
                condition=models.Q(case__lt=models.F("other")), name="case_link_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"link {self.case_id}–{self.other_id}"


class CaseEvent(models.Model):
    """One entry in a case's history: its creation, its import, or a move."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        IMPORTED = "imported", _("Imported")
        MOVED = "moved", _("Moved")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.MOVED)
    from_state = models.CharField(
        _("from state"), max_length=16, choices=CaseState.choices, blank=True
    )
    to_state = models.CharField(_("to state"), max_length=16, choices=CaseState.choices)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        # Never looked up by actor (staff accounts are deactivated, not
        # deleted), and every imported row would pay for the index.
        db_index=False,
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_state or '-'} → {self.to_state}"


class CaseNote(models.Model):
    class ContactChannel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SIGNAL = "signal", _("Signal")
        IN_PERSON = "in_person", _("In person")
        OTHER = "other", _("Other")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    # Set on a note that records a contact outside the system (by phone, in
    # person...): that it happened and how, never what was said (an optional
    # body is sealed like any note).
    contacted_via = models.CharField(
        _("contacted outside the system via"),
        max_length=16,
        choices=ContactChannel.choices,
        blank=True,
        default="",
        db_default="",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    # Sealed under the note's own key, wrapped to the organisation in item_key.
    body = SealedTextField(_("note"), key_field="item_key")
    item_key = models.BinaryField(default=b"", db_default=b"", blank=True, editable=False)
    # The body and its key are bound to the case's request (its reference).
    sealed_row_path = "case__request__reference"
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note {self.pk}"


def new_template_uid() -> str:
    return secrets.token_hex(16)


class ReplyTemplate(models.Model):
    """
    A reply caseworkers give often, written once and inserted into the reply box
    of a case page. What the organisation tells requesters (where to go, whom
    to trust) is as sensitive as what they tell it: title and text are sealed
    to the organisation like notes, under the template's own key, opened only
    by a caseworker's session (cases.access), never logged, and each change is
    audited. A shred deletes them.
    """

    # What the template's content is bound to (docs/encryption.md, version 2):
    # a random name given before it is sealed, since it has no id until saved.
    uid = models.CharField(max_length=32, unique=True, default=new_template_uid, editable=False)
    sealed_row_path = "uid"
    # Sealed under the template's own key, wrapped to the organisation in item_key.
    title = SealedTextField(_("title"), key_field="item_key")
    body = SealedTextField(_("text"), key_field="item_key")
    item_key = models.BinaryField(default=b"", db_default=b"", blank=True, editable=False)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("written by"),
        db_index=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("last changed by"),
        db_index=False,
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        # Titles are sealed: the database cannot sort or compare them, so one
        # title per language is checked where they are opened (cases.reply_templates).
        ordering = ["language", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(language__in=Language.values), name="reply_template_language"
            ),
        ]

    def __str__(self) -> str:
        return f"template {self.pk} ({self.language})"


class SavedView(models.Model):
    """
    A caseworker's own shortcut to the triage queue with some filters and a
    sort order. `query` keeps only the queue's known filter names with values
    it accepts (cases.forms.saved_query): vocabulary codes, days, a colleague's
    id and a sort name; never a search. The name is the caseworker's label,
    kept in plaintext, so it may hold no digit, "@" or "+" (no reference,
    phone number or handle can hide in it). Each person sees only their own.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("owner"),
        db_index=False,  # the unique (owner, name) serves lookups by owner
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("saved at"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name"),
        ]

    def __str__(self) -> str:
        return f"saved view {self.pk}"
