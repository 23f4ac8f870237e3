"""
One date style per language, for pages, sentences, charts and exports alike:
a day is "9 December 2026" / «9 декабря 2026 г.», a month "December 2026" /
«декабрь 2026» (Russian months are not capitalised inside a sentence; a
heading capitalises its own first letter). Machine formats (ISO in a
<time datetime>, "YYYY-MM" in URLs and file names) are not for reading and stay.

Russian puts a month in the case its preposition asks for: «в ноябре 2025
года», «с ноября 2025 года», «за ноябрь 2025 года». The phrases below carry
their preposition, so a translated sentence takes the whole phrase.
"""

from datetime import date

from django.utils.dates import MONTHS, MONTHS_ALT
from django.utils.translation import get_language
from django.utils.translation import gettext as _

RU_PREPOSITIONAL = (
    "январе", "феврале", "марте", "апреле", "мае", "июне",
    "июле", "августе", "сентябре", "октябре", "ноябре", "декабре",
)  # fmt: skip


def _russian() -> bool:
    return (get_language() or "").split("-")[0] == "ru"


def day(value: date) -> str:
    """9 December 2026 / 9 декабря 2026 г."""
    if _russian():
        return f"{value.day} {MONTHS_ALT[value.month]} {value.year} г."
    return f"{value.day} {MONTHS[value.month]} {value.year}"


def month(value: date) -> str:
    """December 2026 / декабрь 2026."""
    name = str(MONTHS[value.month])
    return f"{name.lower() if _russian() else name} {value.year}"


def in_month(value: date) -> str:
    """in November 2025 / в ноябре 2025 года."""
    if _russian():
        return f"в {RU_PREPOSITIONAL[value.month - 1]} {value.year} года"
    return _("in %(month)s") % {"month": month(value)}


def since_month(value: date) -> str:
    """since November 2025 / с ноября 2025 года."""
    if _russian():
        return f"с {MONTHS_ALT[value.month]} {value.year} года"
    return _("since %(month)s") % {"month": month(value)}


def for_month(value: date) -> str:
    """for November 2025 / за ноябрь 2025 года."""
    if _russian():
        return f"за {str(MONTHS[value.month]).lower()} {value.year} года"
    return _("for %(month)s") % {"month": month(value)}


def period(first: date, last: date) -> str:
    """March 2024 – February 2026 / март 2024 – февраль 2026."""
    return f"{month(first)} – {month(last)}"
