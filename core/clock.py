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
    local = timezone.localtime(moment or timezone.now())
    return local.replace(minute=0, second=0, microsecond=0)
