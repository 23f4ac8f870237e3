"""Read paths of the case workflow: the triage queue and one case's page."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

from cases.models import Case
from cases.workflow import OPEN_STATES
from encryption.fingerprint import contact_fingerprints
from intake.models import HelpRequest
from intake.vocabulary import URGENCY_RANK

# Everything the queue shows; encrypted columns are never even fetched.
QUEUE_FIELDS = (
    "id",
    "state",
    "priority",
    "created_at",
    "assigned_to__username",
    "request__reference",
    "request__category",
    "request__urgency",
    "request__received_at",
)


@dataclass
class QueueFilters:
    state: str = ""
    category: str = ""
    urgency: str = ""
    assignee: str = ""  # "", "mine" or "unassigned"


class QueuePage(Paginator):
    """Pages of queue rows, counted on the filtered cases alone: counting the
    shaped rows would join every request just to count them."""

    def __init__(self, cases: QuerySet, per_page: int) -> None:
        self.cases = cases
        super().__init__(cases.order_by(*QUEUE_ORDER).values(*QUEUE_FIELDS), per_page)

    @cached_property
    def count(self) -> int:
        return self.cases.count()


QUEUE_ORDER = ("priority", "created_at", "id")


def triage_queue(user: AbstractBaseUser, filters: QueueFilters) -> QuerySet:
    """Open cases matching the filters. Requests are joined only to filter by them;
    shown through QueuePage, most urgent first, then oldest first."""
    states = [filters.state] if filters.state else OPEN_STATES
    cases = Case.objects.filter(state__in=states)
    if filters.category:
        cases = cases.filter(request__category=filters.category)
    if filters.urgency:
        # The case carries its request's urgency as a rank: no join needed.
        cases = cases.filter(priority=URGENCY_RANK[filters.urgency])
    if filters.assignee == "mine":
        cases = cases.filter(assigned_to=user)
    elif filters.assignee == "unassigned":
        cases = cases.filter(assigned_to__isnull=True)
    return cases


def cases_with_new_messages(limit: int = 20) -> QuerySet:
    """Cases, in any state, whose requester wrote since a caseworker last looked."""
    return (
        Case.objects.filter(unread_message_at__isnull=False)
        .order_by("unread_message_at", "id")
        .values("request__reference", "state", "unread_message_at")[:limit]
    )


def earlier_requests(help_request: HelpRequest, limit: int = 5) -> QuerySet:
    """Earlier requests from the same contact, recognised by its keyed fingerprint
    under the current key or any old one (during a key rotation both occur)."""
    if not help_request.contact_fingerprint:
        return HelpRequest.objects.none()
    fingerprints = {help_request.contact_fingerprint, *contact_fingerprints(help_request.contact)}
    # Times are hours (core.clock): within the hour, the id says which came first.
    earlier = Q(received_at__lt=help_request.received_at) | Q(
        received_at=help_request.received_at, pk__lt=help_request.pk
    )
    return (
        HelpRequest.objects.filter(earlier, contact_fingerprint__in=sorted(fingerprints))
        .order_by("-received_at", "-pk")
        .values("reference", "received_at")[:limit]
    )
