"""
Showing what a person wrote on staff pages, exactly as it is stored.

Invisible format characters (Unicode category Cf: bidi overrides such as
U+202E, zero-width spaces and joiners) are shown as visible marks, so a
contact written "+7 900 \u202e7654321" cannot display as a different number
from the one stored, and a zero-width space cannot hide inside a handle. So
are letters that draw nothing (Hangul fillers, the blank Braille pattern) and
line or paragraph separators; more than three combining marks on one letter
are counted instead of drawn. The templates also isolate each piece of user
text (<bdi>, or `unicode-bidi: isolate` in site.css), so right-to-left text
cannot reorder the page around it, and contain its painting (`contain: paint`),
so nothing it draws reaches outside its box.
"""

import unicodedata

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

# Letters that draw nothing: Hangul fillers, the blank Braille pattern. A handle
# made of them, or padded with them, would display as another (or as nothing).
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Shown as marks besides Cf: line and paragraph separators (which break a line
# where the text seems to have none) and the blank letters above.
MARKED_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})
# A letter carries at most this many combining marks as written; the rest are
# counted, not drawn (hundreds stacked on one letter paint over the page).
MAX_COMBINING = 3
COMBINING = frozenset({"Mn", "Me"})


def is_marked(character: str) -> bool:
    return character in BLANK_LETTERS or unicodedata.category(character) in MARKED_CATEGORIES


def _mark(character: str) -> str:
    return format_html(
        '<mark class="invisible-char" title="{}">{}</mark>',
        _("An invisible character, shown so that it cannot change what you read"),
        f"U+{ord(character):04X}",
    )


def _collapsed(count: int) -> str:
    return format_html(
        '<mark class="invisible-char" title="{}">+{}</mark>',
        ngettext(
            "%(count)s more combining mark on this letter, not drawn",
            "%(count)s more combining marks on this letter, not drawn",
            count,
        )
        % {"count": count},
        count,
    )


@register.filter(is_safe=True)
def visible(value: object) -> SafeString:
    """The text, HTML-escaped, with every invisible or blank character marked and
    long runs of combining marks cut to their first few."""
    text = str(value) if value is not None else ""
    if text.isascii():
        return escape(text)
    pieces, start, run, index = [], 0, 0, 0
    while index < len(text):
        character = text[index]
        if unicodedata.category(character) in COMBINING:
            run += 1
            if run > MAX_COMBINING:
                end = index
                while end < len(text) and unicodedata.category(text[end]) in COMBINING:
                    end += 1
                pieces += [escape(text[start:index]), _collapsed(end - index)]
                start, index, run = end, end, 0
                continue
        else:
            run = 0
        if is_marked(character):
            pieces += [escape(text[start:index]), _mark(character)]
            start = index + 1
        index += 1
    pieces.append(escape(text[start:]))
    # Every piece is escaped above or built by format_html.
    return mark_safe("".join(pieces))  # noqa: S308 # nosec B308 B703
