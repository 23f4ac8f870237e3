"""
Showing what a person wrote on staff pages, exactly as it is stored.

Invisible format characters (Unicode category Cf: bidi overrides such as
U+202E, zero-width spaces and joiners) are shown as visible marks, so a
contact written "+7 900 \u202e7654321" cannot display as a different number
from the one stored, and a zero-width space cannot hide inside a handle. The
templates also isolate each piece of user text (<bdi>, or `unicode-bidi:
isolate` in site.css), so right-to-left text cannot reorder the page around it.
"""

import unicodedata

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


def _mark(character: str) -> str:
    return format_html(
        '<mark class="invisible-char" title="{}">{}</mark>',
        _("An invisible character, shown so that it cannot change what you read"),
        f"U+{ord(character):04X}",
    )


@register.filter(is_safe=True)
def visible(value: object) -> SafeString:
    """The text, HTML-escaped, with every invisible format character marked."""
    text = str(value) if value is not None else ""
    if text.isascii():
        return escape(text)
    pieces, start = [], 0
    for index, character in enumerate(text):
        if unicodedata.category(character) == "Cf":
            pieces += [escape(text[start:index]), _mark(character)]
            start = index + 1
    pieces.append(escape(text[start:]))
    # Every piece is escaped above or built by format_html.
    return mark_safe("".join(pieces))  # noqa: S308 # nosec B308 B703
