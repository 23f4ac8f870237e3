"""Figures as people read them: grouped by language, withheld ones named, each defined."""

import html
from functools import cache

from django import template
from django.utils import translation
from django.utils.formats import get_format, number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from core import dates
from reports.definitions import DEFINITIONS, definition_url
from reports.months import parse_label

register = template.Library()


@cache
def _thousands(language: str | None) -> str:
    return get_format("THOUSAND_SEPARATOR", language)


def _shown(value, decimals: int | None = None) -> str:
    if isinstance(value, int) and decimals is None:
        # The common case, quickly (a dashboard has hundreds): groups of three,
        # as both languages' formats have it, with the language's separator.
        return f"{value:,}".replace(",", _thousands(translation.get_language()))
    return number_format(value, decimal_pos=decimals, force_grouping=True)


@register.simple_tag
def figure(value, path: str, decimals: int | None = None) -> SafeString:
    """
    A published figure with thousands separators and decimal mark of the
    page's language, tagged with its path into the published report; a
    withheld one (None) is named as such and never shown.
    """
    path = html.escape(path)  # the standard library's: Django's is lazy-aware and slower
    # Reviewed (bandit B703): the path, the word and the figure are escaped here
    # (SafeString is mark_safe without the lazy-string check, for speed).
    if value is None or value == "":  # "" is a missing figure in a template
        word = html.escape(_("withheld"))
        marked = f'<span class="figure withheld" data-figure="{path}" data-withheld="1">{word}'
        return SafeString(f"{marked}</span>")  # nosec B703
    shown = html.escape(_shown(value, decimals))
    return SafeString(f'<span class="figure" data-figure="{path}">{shown}</span>')  # nosec B703


def cells(figures: list[SafeString]) -> SafeString:
    """Table cells of rendered figures, as one piece of HTML (one template variable a row)."""
    # Reviewed (bandit B703): every cell is a figure() made safe above.
    return SafeString("".join(f"<td>{cell}</td>" for cell in figures))  # nosec B703


@register.simple_tag
def percent(share, path: str) -> SafeString:
    if share is None or share == "":
        return figure(None, path)
    return format_html(
        '<span class="figure" data-figure="{}">{}%</span>', path, _shown(round(share * 100))
    )


@register.simple_tag
def hours(value, path: str) -> SafeString:
    if value is None or value == "":
        return figure(None, path)
    return format_html(
        '<span class="figure" data-figure="{}">{}</span>',
        path,
        _("%(hours)s h") % {"hours": _shown(round(value))},
    )


@register.inclusion_tag("reports/includes/defined.html")
def defined(key: str, *more: str):
    """What a figure counts and by which date, in one line, with a link to its definition."""
    return {
        "definition": DEFINITIONS[key],
        "url": definition_url(key),
        "more": [(DEFINITIONS[other], definition_url(other)) for other in more],
    }


@register.simple_tag
def definition_link(key: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', definition_url(key), DEFINITIONS[key].term)


@register.filter
def number(value) -> str:
    """A plain count in the page's language (for counts that are not report figures)."""
    return _shown(value)


@register.filter
def month_name(text: str) -> str:
    """ "2024-01" -> "January 2024" / «январь 2024» (core.dates)."""
    return dates.month(parse_label(text)) if text else ""


@register.filter
def since_month(text: str) -> str:
    """ "2024-01" -> "since January 2024" / «с января 2024 года»."""
    return dates.since_month(parse_label(text)) if text else ""


@register.filter
def for_month(text: str) -> str:
    """ "2024-01" -> "for January 2024" / «за январь 2024 года»."""
    return dates.for_month(parse_label(text)) if text else ""
