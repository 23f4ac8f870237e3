"""The counts in a caseworker's menu (new requests, unread requester messages,
held requests), and whether the menu offers the caseworker pages at all
(cases.access.may_act)."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.roles import Role, has_role
from cases.access import may_act
from cases.selectors import my_nav_count, nav_counts


def caseworker_counts(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {}
    if not has_role(user, Role.CASEWORKER) or not may_act(request):
        # Waiting for access (or without the unlock cookie): no queue, no counts.
        return {}
    # Lazy: only a page that draws the menu pays for it (and then once per
    # NAV_COUNTS_SECONDS, from the cache).
    return {
        "case_counts": SimpleLazyObject(nav_counts),
        # Per person, so not in the shared cached counts: one small count.
        "my_counts": SimpleLazyObject(lambda: {"unread": my_nav_count(user)}),
        "may_act": True,
    }
