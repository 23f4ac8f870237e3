"""
Times of what requesters do, stored at one-hour resolution.

Matched against a messenger's or an ISP's logs, the exact time a request or a
message arrived can point to a person. So every time written because a
requester acted (a request received, its case opened, a message sent, the
notification that followed) is the start of its hour; the order within the
hour comes from the rows' ids. The hour is taken in TIME_ZONE, so month
boundaries, which the reports count by, stay where they are.
"""

from datetime import datetime

from django.utils import timezone


def hour_of(moment: datetime | None = None) -> datetime:
    """The start of the hour of `moment` (default: now), in TIME_ZONE."""
    moment = moment or timezone.now()
    if timezone.is_naive(moment):
        raise ValueError("hour_of() needs an aware datetime")
    # TIME_ZONE itself, not the zone activated for a request: the reports count
    # months there (and asking for the active zone is slow in a loop of imports).
    local = moment.astimezone(timezone.get_default_timezone())
    return local.replace(minute=0, second=0, microsecond=0)
