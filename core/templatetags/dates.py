"""`{% load dates %}`: `{{ value|day }}` and `{{ value|month }}` in the one date
style of core.dates (datetimes are taken in the current time zone)."""

from datetime import date, datetime

from django import template
from django.utils import timezone

from core import dates

register = template.Library()


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value if isinstance(value, date) else None


@register.filter
def day(value) -> str:
    shown = _date(value)
    return dates.day(shown) if shown else ""


@register.filter
def month(value) -> str:
    shown = _date(value)
    return dates.month(shown) if shown else ""
