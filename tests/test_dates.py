"""One date style per language (core/dates.py), on pages as in sentences and exports."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from core import dates

DAY = date(2026, 12, 9)


@pytest.mark.parametrize(
    ("language", "day", "month"),
    [("en", "9 December 2026", "December 2026"), ("ru", "9 декабря 2026 г.", "декабрь 2026")],
)
def test_a_day_and_a_month_read_the_same_everywhere(language, day, month):
    with translation.override(language):
        assert dates.day(DAY) == day
        assert dates.month(DAY) == month
        page = Template(
            '{% load dates %}{{ d|day }}|{{ d|month }}|{{ d|date:"DATE_FORMAT" }}|{{ t|day }}'
        ).render(Context({"d": DAY, "t": datetime(2026, 12, 9, 12, tzinfo=UTC)}))
    # Django's own DATE_FORMAT (used across the staff pages) says the same.
    assert page == f"{day}|{month}|{day}|{day}"


def test_russian_months_take_their_prepositions_case():
    with translation.override("ru"):
        assert dates.in_month(date(2025, 11, 1)) == "в ноябре 2025 года"
        assert dates.since_month(date(2025, 3, 1)) == "с марта 2025 года"
        assert dates.for_month(date(2025, 5, 1)) == "за май 2025 года"
        assert dates.period(date(2024, 3, 1), date(2026, 2, 1)) == "март 2024 – февраль 2026"
    with translation.override("en"):
        assert dates.in_month(date(2025, 11, 1)) == "in November 2025"
        assert dates.since_month(date(2025, 3, 1)) == "since March 2025"
