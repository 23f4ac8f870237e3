"""The flag on a case waiting for the requester longer than WAITING_FLAG_DAYS."""

from datetime import datetime

from django import template

from cases.follow_up import waits_too_long

register = template.Library()


@register.inclusion_tag("cases/_waiting_flag.html")
def waiting_flag(state: str, waiting_since: datetime | None) -> dict:
    """`{% waiting_flag case.state case.waiting_since %}`: for a Case or a queue row."""
    return {"flagged": waits_too_long(state, waiting_since), "since": waiting_since}
