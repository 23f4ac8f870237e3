"""
Help requests.

Plaintext columns hold only the coarse slugs of the vocabulary, dates and ids:
they are what reports are computed from. Everything a person wrote, or that
could identify someone, is an encrypted field.
"""

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.clock import hour_of
from encryption.fields import FingerprintField, SealedTextField
from intake.fields import LegalArticlesField
from intake.references import new_reference, reference_key
from intake.vocabulary import Category, Channel, Language, Location, ServiceStatus, Urgency


class HelpRequest(models.Model):
    # Unique through Meta.constraints: a plain unique index, without the
    # pattern-ops twin that unique=True adds on PostgreSQL.
    reference = models.CharField(
        _("reference"), max_length=64, default=new_reference, editable=False
    )
    # The reference as search reads it (intake.references.reference_key): set
    # on every save and by the bulk writers, so any stored reference, imported
    # ones in another format included, is found however it is typed.
    reference_key = models.CharField(max_length=64, editable=False, default="", db_default="")
    # At one-hour resolution (core.clock); the order within the hour is the id's.
    received_at = models.DateTimeField(_("received at"), default=hour_of)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    service_status = models.CharField(
        _("service status"), max_length=20, choices=ServiceStatus.choices
    )
    location = models.CharField(_("location"), max_length=20, choices=Location.choices)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    legal_articles = LegalArticlesField(_("legal articles"))
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.RUSSIAN
    )

    # Sealed to the organisation under the request's own key (docs/encryption.md),
    # which is kept wrapped in content_key; then encrypted at rest.
    contact = SealedTextField(_("contact"), key_field="content_key")
    alias = SealedTextField(_("alias"), key_field="content_key")
    narrative = SealedTextField(_("narrative"), key_field="content_key")
    precise_location = SealedTextField(_("precise location"), key_field="content_key")
    unit = SealedTextField(_("unit"), key_field="content_key")
    # A Telegram requester who asked to be told when a caseworker answers: their
    # chat id, sealed like the rest (only a caseworker's session opens it, to
    # send the fixed notice through the bot; cases.reply_notice). Empty otherwise.
    reply_chat = SealedTextField(_("reply notice chat"), key_field="content_key")
    content_key = models.BinaryField(default=b"", db_default=b"", blank=True, editable=False)
    # What the content and its key are bound to, so that they open on no other
    # row (encryption.fields.sealed_row): a reference never changes once stored.
    sealed_row_path = "reference"
    # The public half of the requester's key, which their receipt code gives
    # back: messages are sealed to it too, so /status/ shows them the thread.
    requester_public_key = models.BinaryField(
        default=b"", db_default=b"", blank=True, editable=False
    )
    # HMAC of the normalised contact under a key from the organisation key
    # (encryption.fingerprint): recognises a repeat requester without the
    # contact in clear. Made when a caseworker's session first meets the request.
    contact_fingerprint = FingerprintField(_("contact fingerprint"))
    # The receipt code is never stored: only its first characters, to find the
    # request, and a keyed hash of the code (intake.receipts).
    receipt_selector = models.CharField(max_length=8, blank=True, editable=False)
    receipt_hash = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("help request")
        verbose_name_plural = _("help requests")
        ordering = ["-received_at", "-id"]
        indexes = [
            # Monthly reports: a month's rows by received date, with the slugs
            # they group by, so PostgreSQL can answer from the index alone.
            models.Index(
                fields=["received_at", "category", "service_status", "channel"],
                name="request_month_idx",
            ),
            # Equality lookups only: plain indexes, without the pattern-ops twin
            # that db_index=True adds on PostgreSQL (every import pays for each).
            models.Index(fields=["contact_fingerprint"], name="request_fingerprint_idx"),
            # Search by a reference's key, whole or its beginning (LIKE 'GLXP3D%'):
            # pattern ops, so PostgreSQL serves both under any collation.
            models.Index(
                fields=["reference_key"],
                name="request_reference_key_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            # Requests with a contact and no fingerprint yet: the backlog that
            # caseworkers' sessions fingerprint in passing.
            models.Index(
                fields=["id"],
                condition=models.Q(contact_fingerprint="", contact__isnull=False),
                name="request_unfingerprinted_idx",
            ),
            # Only requests that have a receipt code (imported ones have none).
            models.Index(
                fields=["receipt_selector"],
                condition=~models.Q(receipt_selector=""),
                name="request_receipt_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="request_reference_unique"),
            models.CheckConstraint(
                condition=models.Q(category__in=Category.values), name="request_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="request_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(service_status__in=ServiceStatus.values),
                name="request_service_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(location__in=Location.values), name="request_location_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(urgency__in=Urgency.values), name="request_urgency_valid"
            ),
        ]

    def __str__(self) -> str:
        # Never anything but the reference: __str__ ends up in logs and admin.
        return self.reference

    def save(self, *args, **kwargs) -> None:
        self.reference_key = reference_key(self.reference) or ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "reference" in update_fields:
            kwargs["update_fields"] = {*update_fields, "reference_key"}
        super().save(*args, **kwargs)

    @property
    def is_desertion_related(self) -> bool:
        return self.category in (Category.DESERTION, Category.BORDER_CROSSING)


class RequestMessage(models.Model):
    """One message between the requester (through the receipt code) and caseworkers."""

    class Sender(models.TextChoices):
        REQUESTER = "requester", _("Requester")
        STAFF = "staff", _("Caseworker")

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(_("from"), max_length=12, choices=Sender.choices)
    author = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Sealed under the message's own key, wrapped to the organisation in
    # item_key and sealed to the requester in requester_key.
    body = SealedTextField(_("message"), key_field="item_key")
    item_key = models.BinaryField(default=b"", db_default=b"", blank=True, editable=False)
    requester_key = models.BinaryField(default=b"", db_default=b"", blank=True, editable=False)
    # The body and its key are bound to the request they belong to.
    sealed_row_path = "request__reference"
    # At one-hour resolution (core.clock), whoever wrote: the thread is ordered
    # by time, then id, and a caseworker's exact time would misplace the
    # requester's messages of the same hour.
    sent_at = models.DateTimeField(_("sent at"), default=hour_of)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"message {self.pk}"


class MessageCopy(models.Model):
    """
    A message's key sealed to one more requester: after a merge (cases.undo)
    both receipt codes read the one thread, so each message of it is sealed to
    the requester of every request merged together, not only its own.
    """

    message = models.ForeignKey(RequestMessage, on_delete=models.CASCADE, related_name="copies")
    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="+")
    sealed_key = models.BinaryField(editable=False)

    class Meta:
        verbose_name = _("message copy for another requester")
        verbose_name_plural = _("message copies for other requesters")
        constraints = [
            models.UniqueConstraint(fields=["message", "request"], name="message_copy_once")
        ]

    def __str__(self) -> str:
        return f"copy of message {self.message_id} for request {self.request_id}"


class BotToken(models.Model):
    """
    A messaging bot's key to the intake API. Only a SHA-256 of the token is
    kept: tokens are long random strings, so a fast hash is enough to make a
    stolen table useless, and each API call stays cheap.
    """

    name = models.CharField(_("name"), max_length=80, unique=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.TELEGRAM
    )
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The hour of the last use only: an exact time would date the bot's latest request.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bot token")
        verbose_name_plural = _("bot tokens")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class BotUsage(models.Model):
    """
    How many requests a bot submitted in one hour. Each use is counted here
    instead of being written to the audit log at once, which would give every
    bot request an exact time; once the hour is over, the count goes to the
    audit log as one entry and the row is deleted (intake.services).
    """

    bot = models.ForeignKey(BotToken, on_delete=models.CASCADE, related_name="usage")
    hour = models.DateTimeField(_("hour"))
    requests = models.PositiveIntegerField(_("requests"), default=0)
    # Requests refused (bad JSON, bad fields, too large, over the limits): counted
    # like the stored ones, so a refusal gets no exact time in the audit log
    # either, which would pin the corrected resend's hour-rounded request.
    refused = models.PositiveIntegerField(_("refused"), default=0)

    class Meta:
        verbose_name = _("bot usage")
        verbose_name_plural = _("bot usage")
        constraints = [models.UniqueConstraint(fields=["bot", "hour"], name="bot_usage_unique")]

    def __str__(self) -> str:
        return f"{self.bot.name} {self.hour:%Y-%m-%d %H}h"


class SubmissionKey(models.Model):
    """
    A bot's Idempotency-Key, as a keyed hash (intake.receipts.retry_index), with
    the request it stored: a retry after a timeout gets the same reference and
    receipt code instead of a second case. The body's keyed hash tells a retry
    from a different request under the same key. Forgotten after a day.
    """

    index = models.CharField(max_length=64, unique=True)
    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="+")
    body = models.CharField(max_length=64)
    # The hour only, like every time a requester's action leaves (core.clock).
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("bot retry key")
        verbose_name_plural = _("bot retry keys")

    def __str__(self) -> str:
        return f"retry key of {self.request_id}"


def new_attachment_uid() -> str:
    return secrets.token_hex(16)


class Attachment(models.Model):
    """
    One clean page image of a file a requester sent (a photo is one page, a PDF
    one per page), sealed under the key of what it came with: the request's
    (request.content_key) or, sent later with a message, the message's
    (message.item_key). The row keeps nothing of the upload: no name, no size,
    no date, no metadata, not even the image's dimensions (a phone's
    resolution can name its model); only random names of two storage objects
    (intake.attachments.services) whose contents are ciphertext, padded.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", _("photo")
        DOCUMENT = "document", _("document")

    # Random: names the attachment in URLs and in what its objects are bound to.
    uid = models.CharField(max_length=32, default=new_attachment_uid, editable=False)
    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        RequestMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    # Which file of its upload (from 1) and which page of that file (from 1).
    position = models.PositiveSmallIntegerField(_("file"))
    page = models.PositiveSmallIntegerField(_("page"), default=1)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    media_type = models.CharField(max_length=32)
    thumbnail_type = models.CharField(max_length=32)
    # The padded size of the image's plaintext (encryption.objects.bucket).
    size_bucket = models.PositiveIntegerField()
    # Storage object names (STORAGES["attachments"]): 32 random hex digits each.
    image_object = models.CharField(max_length=64, editable=False)
    thumbnail_object = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["request", "message", "position", "page"]
        constraints = [
            models.UniqueConstraint(fields=["uid"], name="attachment_uid_unique"),
        ]

    def __str__(self) -> str:
        return f"attachment {self.pk}"

    @property
    def sealed_row(self) -> str:
        """What its objects are bound to: its request's reference and its own uid."""
        return f"{self.request.reference}/{self.uid}"
