"""
Signed checkpoints: the audit chain's head, signed and delivered off the database.

The chain alone cannot stop whoever writes the database: they can edit an
entry and recompute every hash after it, and the head, or cut the tail. A
checkpoint (its own number, the number of entries, the head's hash, the hour)
is signed with a key that is not in the database (encryption.checkpoint_key)
and delivered where the database's writer cannot reach: the checkpoint store
(a folder, or a bucket with object lock in production) and the admins' mail.
`verify_checkpoints` then proves that the chain in the database still passes
through every checkpoint ever delivered, and names what is wrong when not.

The format (docs/audit-checkpoints.md) is seven lines of text, so checkpoints
survive being pasted out of mail; the signature covers the six lines before it.
"""

import logging
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.roles import Role
from audit.models import GENESIS_HASH, AuditEntry, ChainHead, SignedCheckpoint
from audit.services import HEAD_ID, verify_chain
from encryption import checkpoint_key

log = logging.getLogger(__name__)

HEADER = "audit-checkpoint v1"
FIELDS = ("number", "entries", "head", "hour", "key")
FIELD_FORMS = {
    "number": r"[1-9]\d{0,18}",
    "entries": r"\d{1,19}",
    "head": r"[0-9a-f]{64}",
    "hour": r"\d{4}-\d{2}-\d{2}T\d{2}Z",
    "key": r"[0-9a-f]{16}",
}
HOUR_FORMAT = "%Y-%m-%dT%HZ"
STORE = "audit_checkpoints"


class CheckpointError(Exception):
    """A checkpoint cannot be made (no signing key)."""


def _body(number: int, entries: int, head: str, hour: datetime, key: str) -> str:
    return (
        f"{HEADER}\nnumber: {number}\nentries: {entries}\nhead: {head}\n"
        f"hour: {hour.astimezone(UTC).strftime(HOUR_FORMAT)}\nkey: {key}\n"
    )


# --- making and delivering ---------------------------------------------------


def make_checkpoint(now: datetime | None = None) -> SignedCheckpoint:
    """
    Sign the chain's head as it is now and try to deliver it. Reading the head
    is one row, so a checkpoint costs a few milliseconds whatever the log's
    size; a delivery that fails is kept for `deliver_pending` to retry.
    """
    if not checkpoint_key.signing_configured():
        raise CheckpointError("no signing key: set AUDIT_SIGNING_KEY_FILE")
    hour = (now or timezone.now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        head = ChainHead.objects.filter(pk=HEAD_ID).first()
        entries, head_hash = (head.seq, head.last_hash) if head else (0, GENESIS_HASH)
        latest = SignedCheckpoint.objects.aggregate(number=Max("number"))["number"] or 0
        number = latest + 1
        try:
            key = checkpoint_key.signing_key_id()
            body = _body(number, entries, head_hash, hour, key)
            signature = checkpoint_key.sign(body.encode("ascii"))
        except checkpoint_key.SigningKeyError as error:
            raise CheckpointError(str(error)) from None
        checkpoint = SignedCheckpoint.objects.create(
            number=number,
            entries=entries,
            head=head_hash,
            hour=hour,
            key_id=key,
            text=f"{body}signature: {signature}\n",
        )
    store(checkpoint)
    return checkpoint


def _reason(error: Exception) -> str:
    # The class and message of a storage or mail error name a host or a
    # folder at most; never anything from the log itself.
    return f"{type(error).__name__}: {error}"[:200]


def store(checkpoint: SignedCheckpoint) -> bool:
    """
    Write the checkpoint to the store under a name of its own. A name already
    taken is never overwritten: the store picks another, so a retry after a
    half-finished write keeps both copies (the verifier de-duplicates).
    """
    if checkpoint.stored:
        return True
    name = f"{checkpoint.hour:%Y/%m}/checkpoint-{checkpoint.number:09d}.txt"
    checkpoint.attempts += 1
    try:
        checkpoint.stored_as = storages[STORE].save(
            name, ContentFile(checkpoint.text.encode("ascii"))
        )
        checkpoint.store_error = ""
    except Exception as error:  # any backend's failure: a bucket, a full disk, a bad mount
        checkpoint.store_error = _reason(error)
        log.warning("audit checkpoint #%s not stored: %s", checkpoint.number, type(error).__name__)
    checkpoint.save(update_fields=["stored_as", "store_error", "attempts"])
    return checkpoint.stored


def _admin_addresses() -> list[str]:
    admins = get_user_model().objects.filter(groups__name=Role.ADMIN, is_active=True)
    return sorted(set(admins.exclude(email="").values_list("email", flat=True)))


def mail_pending() -> int:
    """
    Mail every checkpoint not mailed yet, in one mail to every admin (the
    daily mail). Each admin's mailbox is a copy the database's writer cannot
    reach. Returns how many checkpoints were mailed.
    """
    pending = list(SignedCheckpoint.objects.filter(mailed=False).order_by("number"))
    if not pending:
        return 0
    addresses = _admin_addresses()
    failure = "" if addresses else "no active admin has an e-mail address"
    if addresses:
        first, last = pending[0].number, pending[-1].number
        body = (
            "Signed checkpoints of the audit log. Keep this mail: "
            "`manage.py verify_audit_log --checkpoints FILE` checks them against the "
            "database, pasted together into one file.\n\n"
            + "\n".join(checkpoint.text for checkpoint in pending)
        )
        try:
            send_mail(
                f"Audit checkpoints #{first}-#{last}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                addresses,
            )
        except Exception as error:  # SMTP refused, server down, TLS failure
            failure = _reason(error)
            log.warning("audit checkpoints #%s-#%s not mailed", first, last)
    ids = [checkpoint.pk for checkpoint in pending]
    if failure:
        SignedCheckpoint.objects.filter(pk__in=ids).update(mail_error=failure)
        return 0
    SignedCheckpoint.objects.filter(pk__in=ids).update(mailed=True, mail_error="")
    return len(ids)


def deliver_pending() -> int:
    """
    Retry what has not arrived: every checkpoint not stored, and the mail when
    the last attempt failed (otherwise mail waits for the daily mail). Returns
    how many checkpoints are still not stored.
    """
    for checkpoint in SignedCheckpoint.objects.filter(stored_as="").order_by("number"):
        store(checkpoint)
    if SignedCheckpoint.objects.filter(mailed=False).exclude(mail_error="").exists():
        mail_pending()
    return SignedCheckpoint.objects.filter(stored_as="").count()


def checkpoints_enabled() -> bool:
    return checkpoint_key.signing_configured()


def last_checkpoint() -> SignedCheckpoint | None:
    return SignedCheckpoint.objects.order_by("-number").first()


def earlier_not_stored(last: SignedCheckpoint | None) -> int:
    """Checkpoints before the last one still waiting for the store: a newer one that
    arrived must not hide an older one that did not."""
    if last is None:
        return 0
    return SignedCheckpoint.objects.filter(stored_as="", number__lt=last.number).count()


# --- reading ----------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A checkpoint as read from a file, a folder, a mail or the store."""

    source: str
    number: int
    entries: int
    head: str
    hour: datetime
    key: str
    signature: str

    @property
    def body(self) -> str:
        return _body(self.number, self.entries, self.head, self.hour, self.key)

    def __str__(self) -> str:
        return f"checkpoint #{self.number} ({self.hour:%Y-%m-%d %H}:00 UTC, {self.source})"


def parse(text: str, source: str) -> tuple[list[Found], list[str]]:
    """
    Every checkpoint in `text` (mail quoting and blank lines around them are
    ignored), and a problem for each one that is cut short or malformed.
    """
    lines = [line.strip().lstrip(">").strip() for line in text.splitlines()]
    found, problems = [], []
    for start, line in enumerate(lines):
        if line != HEADER:
            continue
        values = {}
        for offset, name in enumerate((*FIELDS, "signature"), start=1):
            form = FIELD_FORMS.get(name, r"[A-Za-z0-9_-]{86}")
            field_line = lines[start + offset] if start + offset < len(lines) else ""
            match = re.fullmatch(rf"{name}: ({form})", field_line)
            if not match:
                break
            values[name] = match[1]
        where = f"{source}, line {start + 1}"
        if len(values) != len(FIELDS) + 1:
            problems.append(f"the checkpoint at {where} is malformed or cut short: edited")
            continue
        try:
            hour = datetime.strptime(values["hour"], HOUR_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            problems.append(f"the checkpoint at {where} has no valid hour: edited")
            continue
        found.append(
            Found(
                where,
                int(values["number"]),
                int(values["entries"]),
                values["head"],
                hour,
                values["key"],
                values["signature"],
            )
        )
    return found, problems


def read_path(path: Path) -> tuple[list[Found], list[str]]:
    """A file of checkpoints pasted together, or a folder of them (searched throughout)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    found, problems = [], []
    for file in files:
        text = file.read_bytes().decode("utf-8", errors="replace")
        more, wrong = parse(text, str(file))
        found += more
        problems += wrong
    return found, problems


def read_store() -> tuple[list[Found], list[str]]:
    """Every checkpoint in the configured store (a folder or a bucket)."""
    storage = storages[STORE]
    found, problems = [], []

    def walk(folder: str) -> None:
        folders, files = storage.listdir(folder)
        for name in sorted(files):
            path = f"{folder}/{name}" if folder else name
            with storage.open(path) as handle:
                more, wrong = parse(handle.read().decode("utf-8", errors="replace"), path)
            found.extend(more)
            problems.extend(wrong)
        for sub in sorted(folders):
            walk(f"{folder}/{sub}" if folder else sub)

    with suppress(FileNotFoundError):  # an empty store: nothing delivered yet
        walk("")
    return found, problems


# --- verifying --------------------------------------------------------------


@dataclass
class CheckpointReport:
    checkpoints: int  # distinct, correctly signed checkpoints read
    problems: list[str]
    entries: int  # entries in the database's chain

    @property
    def intact(self) -> bool:
        return not self.problems


def _signed(found: Iterable[Found], keys: dict) -> tuple[list[Found], list[str]]:
    good, problems = {}, []
    for checkpoint in found:
        key = keys.get(checkpoint.key)
        if key is None:
            problems.append(f"{checkpoint} is signed by an unknown key {checkpoint.key}: refused")
        elif not checkpoint_key.signature_holds(
            key, checkpoint.body.encode("ascii"), checkpoint.signature
        ):
            problems.append(f"{checkpoint} does not match its signature: edited, refused")
        else:
            good.setdefault((checkpoint.number, checkpoint.body), checkpoint)
    return sorted(good.values(), key=lambda c: c.number), problems


def _gaps(checkpoints: list[Found]) -> list[str]:
    """Checkpoints missing between two that arrived: by number, and by time."""
    interval = timedelta(hours=settings.AUDIT_CHECKPOINT_HOURS)
    problems = []
    for before, after in pairwise(checkpoints):
        if before.number == after.number:
            problems.append(
                f"rewritten history (fork): {before} and {after} are two different checkpoints "
                "with the same number"
            )
            continue
        if after.number > before.number + 1:
            missing = (
                f"checkpoint #{before.number + 1} is"
                if after.number == before.number + 2
                else f"checkpoints #{before.number + 1} to #{after.number - 1} are"
            )
            problems.append(f"gap: {missing} missing between {before} and {after}")
        elif after.hour - before.hour > interval:
            hours = int((after.hour - before.hour).total_seconds() // 3600)
            problems.append(
                f"gap: {hours} hours between {before} and {after}, longer than the interval "
                f"of {settings.AUDIT_CHECKPOINT_HOURS} h"
            )
    return problems


def _against_chain(checkpoints: list[Found]) -> tuple[list[str], int]:
    """Does the chain in the database pass through every checkpoint?"""
    top = AuditEntry.objects.aggregate(top=Max("seq"))["top"] or 0
    wanted = {c.entries for c in checkpoints if c.entries}
    hashes = dict(AuditEntry.objects.filter(seq__in=wanted).values_list("seq", "entry_hash"))
    hashes[0] = GENESIS_HASH

    def holds(c: Found) -> bool:
        return hashes.get(c.entries) == c.head

    problems = []
    cut = [c for c in checkpoints if c.entries > top]
    if cut:
        longest = max(cut, key=lambda c: c.entries)
        problems.append(
            f"tail cut below the last checkpoint: {longest} signed {longest.entries} entries, "
            f"the chain now ends at entry #{top}; entries #{top + 1} to #{longest.entries} "
            "were removed"
        )
    differing = [c for c in checkpoints if c.entries <= top and not holds(c)]
    if differing:
        first = differing[0]
        held = [c.entries for c in checkpoints if holds(c) and c.entries < first.entries]
        since = max(held, default=0)
        later = [c for c in checkpoints if c.number > first.number and holds(c)]
        if later:
            problems.append(
                f"rewritten history (fork): {first} was signed on a history the database no "
                f"longer has, {later[0]} on the one it has now; they part after entry #{since}"
            )
        else:
            problems.append(
                f"entry changed after a checkpoint: an entry from #{since + 1} to "
                f"#{first.entries} is not what {first} signed (the chain no longer passes "
                "through its head)"
            )
    return problems, top


def verify_checkpoints(
    found: list[Found], read_problems: list[str], public_keys: list[str] | None = None
) -> CheckpointReport:
    """
    Check every checkpoint's signature, that none is missing, and that the
    chain in the database (itself intact) passes through each of them.
    """
    keys = checkpoint_key.trusted_keys(public_keys)
    checkpoints, problems = _signed(found, keys)
    problems = read_problems + problems
    if not keys:
        problems.append("no public key to check signatures with: set AUDIT_CHECKPOINT_PUBLIC_KEYS")
    if not found and not read_problems:
        problems.append("no checkpoint found")
    problems += _gaps(checkpoints)
    chain = verify_chain()
    if not chain.intact:
        problems.append(f"the chain is broken at entry #{chain.broken_at}: {chain.reason}")
    against, top = _against_chain(checkpoints)
    return CheckpointReport(len(checkpoints), problems + against, top)
