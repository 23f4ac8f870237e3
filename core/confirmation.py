"""
One-time confirmations for the actions that ask first on a page of their own
(a final move, a bulk rejection, a held-group rejection, an admin's reset,
deactivation, role change or reactivation).

A flag such as `confirmed=on` in the form proved nothing: a forged or replayed
POST carrying it skipped the page. Instead the confirmation page issues a
random token, kept in the server-side session bound to the person, the exact
action and the exact selection (references, an account, a target state), and
the confirming POST must bring it back: once, within CONFIRMATION_SECONDS, for
that action and that selection only. Anything else shows the confirmation page
again, and nothing changes.
"""

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

SESSION_ENTRY = "confirmations"
FIELD = "confirmation"
# Confirmation pages left open in one session (tabs); older ones are dropped.
MOST_OPEN = 20


def _binding(request: HttpRequest, action: str, selection: Iterable[object]) -> str:
    what = json.dumps([request.user.pk, action, sorted(str(item) for item in selection)])
    return hashlib.sha256(what.encode()).hexdigest()


def issue(request: HttpRequest, action: str, selection: Iterable[object]) -> str:
    """A token for the confirmation page's form, good once for this action and selection."""
    now = timezone.now().timestamp()
    pending = {
        token: entry
        for token, entry in request.session.get(SESSION_ENTRY, {}).items()
        if entry["until"] > now
    }
    while len(pending) >= MOST_OPEN:
        pending.pop(min(pending, key=lambda token: pending[token]["until"]))
    token = secrets.token_urlsafe(24)
    pending[token] = {
        "for": _binding(request, action, selection),
        "until": now + settings.CONFIRMATION_SECONDS,
    }
    request.session[SESSION_ENTRY] = pending
    return token


def redeem(request: HttpRequest, action: str, selection: Iterable[object]) -> bool:
    """
    Whether the POST brings a token issued in this session for exactly this
    action and selection, still fresh. The token is spent whatever the answer.
    """
    token = request.POST.get(FIELD, "")
    pending = request.session.get(SESSION_ENTRY, {})
    entry = pending.pop(token, None) if token else None
    if entry is None:
        return False
    request.session[SESSION_ENTRY] = pending
    return entry["until"] > timezone.now().timestamp() and hmac.compare_digest(
        entry["for"], _binding(request, action, selection)
    )
