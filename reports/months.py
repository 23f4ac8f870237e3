"""Months as the reports know them: "YYYY-MM", bounded in the configured time zone."""

import re
from datetime import date, datetime

from django.utils import timezone

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# The earliest month anything is reported for: the organisation's records begin
# in 2022, and a year such as 0000 or 0001 has no month before it to compare.
FIRST_MONTH = date(2000, 1, 1)


class BadMonth(ValueError):
    """A month that is malformed or in the future; the message says which."""


def parse_month(text: str) -> date:
    """ "2024-01" -> date(2024, 1, 1); refuses anything else, the future, and
    anything before FIRST_MONTH."""
    match = MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadMonth(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2024-01.")
    # Checked before any date is built: year 0000 matches the pattern but has
    # no calendar (a 500 before).
    if int(match.group(1)) < FIRST_MONTH.year:
        raise BadMonth(f"{text} is before {label(FIRST_MONTH)}: there are no figures that old.")
    month = date(int(match.group(1)), int(match.group(2)), 1)
    if month > current_month():
        raise BadMonth(f"{text} is in the future: its figures do not exist yet.")
    return month


def parse_label(text: str) -> date:
    """A "YYYY-MM" this code wrote itself (stored reports): no check against the future."""
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def month_of(value) -> date:
    """The first day of the month of a date, or of an aware datetime in the configured zone."""
    if hasattr(value, "astimezone"):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def current_month() -> date:
    return timezone.localdate().replace(day=1)


def shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the month as aware datetimes in the configured time zone."""
    zone = timezone.get_current_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = shift(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)
