"""
A moment on a page: how long ago, in words, with the exact time beside it for
whoever needs it (the <time> element's datetime for machines, its title for a
pointer, and `{% moment value exact=True %}` to print it as well).

Django's `timesince` says "0 minutes" for anything under a minute; a person
reads that as a glitch, so it is "just now" here. Times stored at one-hour
resolution (core.clock: what a requester caused) say "within the hour" for
their first hour, never a precision they do not have.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()

EXACT = "Y-m-d H:i"


def ago(value: datetime, now: datetime | None = None, *, hour: bool = False) -> str:
    now = now or timezone.now()
    elapsed = (now - value).total_seconds()
    if hour and elapsed < 3600:
        return _("within the hour")
    if elapsed < 60:
        return _("just now")
    return _("%(age)s ago") % {"age": timesince(value, now)}


@register.simple_tag
def moment(value: datetime | None, exact: bool = False, hour: bool = False) -> str:
    """<time> saying how long ago `value` was, the exact time in its title
    (and after it, in brackets, with exact=True); hour=True for a time kept to
    the hour."""
    if value is None:
        return "—"
    shown = timezone.localtime(value) if timezone.is_aware(value) else value
    stamp = date_format(shown, EXACT)
    if exact:
        return format_html(
            '<time datetime="{}" title="{}">{}</time> <span class="exact">({})</span>',
            value.isoformat(),
            stamp,
            ago(value, hour=hour),
            stamp,
        )
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), stamp, ago(value, hour=hour)
    )
