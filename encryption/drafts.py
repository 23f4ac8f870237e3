"""
What a person typed when their session ended under them, kept until they are
back (docs/encryption.md, "A session that ends mid-work").

A staff form posted after the session ended (idle expiry, sign-out in another
tab, lockdown) is refused, but its typed text is not lost: it is sealed under
a fresh random key, the sealed copy is stored here (a KeptDraft row, expiring
after DRAFT_KEEP_MINUTES) and the key goes into a cookie of the browser only
(HttpOnly, Secure, SameSite=Strict, a browser-session cookie). Neither half
opens anything alone: a copy of the database holds ciphertext whose key it
never saw, and the cookie holds a key to nothing without the row. After
sign-in the page the form came from takes the draft once: the row is deleted
as it is opened, and the cookie with it. The text never goes into a URL, the
session, the cache, a log or a message.

The sealed value is bound to its row id, to the page it was typed on and to
the account the browser is known for (if any), so a row copied under another
id, a draft taken on another page or by another account, opens nothing.
"""

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from encryption import content
from encryption.content import CannotOpen
from encryption.models import KeptDraft

COOKIE_NAME = "tropa_draft"
COOKIE_PATH = "/staff/"
# What a person types into one staff form, at most (a reply is 5,000 characters).
MOST_KEPT_CHARACTERS = 20_000


def _bound_to(page: str, owner: int | None) -> str:
    return f"{page}#{owner or ''}"


def keep(
    response: HttpResponse,
    page: str,
    fields: dict[str, dict[str, str]],
    owner: int | None = None,
) -> bool:
    """
    Seal `fields` ({form: {field: text}}) for `page` (the path the person comes
    back to) and give the response the cookie that opens it; with `owner` (the
    account this browser is known for), for that account only. Nothing is kept
    when nothing was typed, or when it is more than any staff form takes.
    Returns whether something was kept.
    """
    fields = {
        form: {name: text for name, text in values.items() if text.strip()}
        for form, values in fields.items()
    }
    fields = {form: values for form, values in fields.items() if values}
    typed = sum(len(text) for values in fields.values() for text in values.values())
    if not fields or typed > MOST_KEPT_CHARACTERS:
        return False
    now = timezone.now()
    KeptDraft.objects.filter(expires_at__lte=now).delete()
    draft_id, key = secrets.token_hex(16), content.new_key()
    payload = json.dumps({"page": page, "fields": fields}).encode()
    sealed = content.seal_draft(key, payload, draft_id, _bound_to(page, owner))
    KeptDraft.objects.create(
        id=draft_id, sealed=sealed, expires_at=now + timedelta(minutes=settings.DRAFT_KEEP_MINUTES)
    )
    response.set_cookie(
        COOKIE_NAME,
        f"{draft_id}.{content.encode_cookie_key(key)}",
        max_age=None,
        path=COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return True


def take(request: HttpRequest, page: str) -> dict[str, dict[str, str]]:
    """
    The draft kept for `page` in this browser, opened once: its row is deleted
    as it opens, and the caller drops the cookie (`drop`, also when the row
    expired). An
    empty dict when there is none, it expired, or it was typed on another page
    or kept for another account (then it stays until it expires or its page
    and account take it).
    """
    draft_id, _, encoded_key = request.COOKIES.get(COOKIE_NAME, "").partition(".")
    key = content.decode_cookie_key(encoded_key)
    if not draft_id or key is None:
        return {}
    row = KeptDraft.objects.filter(id=draft_id, expires_at__gt=timezone.now()).first()
    if row is None:
        request._drop_draft = True
        return {}
    opened = None
    for bound_to in (_bound_to(page, request.user.pk), _bound_to(page, None)):
        try:
            opened = json.loads(content.open_draft(key, bytes(row.sealed), draft_id, bound_to))
        except (CannotOpen, ValueError):
            continue
        break
    if opened is None:
        return {}  # typed on another page or for another account: left as it is
    KeptDraft.objects.filter(id=draft_id).delete()
    request._drop_draft = True
    return opened["fields"] if opened.get("page") == page else {}


def drop(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Delete the draft cookie once `take` opened (or found expired) what it named."""
    if getattr(request, "_drop_draft", False):
        response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Strict")
    return response
