"""
The month page's quotable sentences (issue 14): with figures large enough to
publish, each sentence states them as a journalist would quote them, in
English and in Russian, with the language's own thousands separator; and the
dashboard's year-on-year tile names both months it compares.

The months are built with factories so that every count is known:

- January 2023: 12 desertion requests (the same month a year earlier);
- June 2023: 1,000 consultations (so that the running total needs a separator);
- January 2024: 30 desertion, 10 border-crossing and 10 consultation requests;
  15 people helped abroad and 10 hiding in the country, resolved that month.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from reports.services import store_reports
from tests.factories import CaseFactory, HelpRequestFactory
from tests.staffing import sign_in

pytestmark = pytest.mark.django_db

JANUARY_2023 = datetime(2023, 1, 16, 9, tzinfo=UTC)
JUNE_2023 = datetime(2023, 6, 5, 9, tzinfo=UTC)
JANUARY_2024 = datetime(2024, 1, 10, 9, tzinfo=UTC)


@pytest.fixture
def known_months(carol):
    for n in range(12):
        HelpRequestFactory(received_at=JANUARY_2023 + timedelta(hours=n), category="desertion")
    for n in range(1000):
        HelpRequestFactory(
            received_at=JUNE_2023 + timedelta(minutes=n),
            category="consultation",
            contact="",
            narrative="",
            contact_fingerprint="",
        )
    categories = ["desertion"] * 30 + ["border_crossing"] * 10 + ["consultation"] * 10
    outcomes = ["left_country"] * 15 + ["hiding_in_country"] * 10
    for n, category in enumerate(categories):
        received = JANUARY_2024 + timedelta(hours=n)
        if n < len(outcomes):
            CaseFactory(
                request__received_at=received,
                request__category=category,
                state="resolved",
                outcome=outcomes[n],
                resolved_at=received + timedelta(days=5),
            )
        else:
            CaseFactory(request__received_at=received, request__category=category)
    store_reports([date(2023, 1, 1), date(2023, 6, 1), date(2024, 1, 1)])
    browser = Client()
    sign_in(browser, carol)
    return browser


def page_in(browser: Client, language: str, path: str) -> str:
    browser.cookies["django_language"] = language
    response = browser.get(path)
    assert response.status_code == 200
    return response.content.decode()


def sentences(html: str) -> list[str]:
    """The 'In words' paragraphs as a reader copies them, without the definition links."""
    found = re.findall(r'<p class="sentence">(.*?)</p>', html, flags=re.S)
    words = [re.sub(r'<span class="defs">.*', "", p, flags=re.S) for p in found]
    plain = [re.sub(r"<[^>]+>", "", p) for p in words]
    # Only ordinary white space is folded: a non-breaking space is a thousands separator.
    return [re.sub(r"[ \t\n]+", " ", text).strip(" ") for text in plain]


def test_the_month_page_states_the_months_figures_in_english(known_months):
    said = sentences(page_in(known_months, "en", "/staff/reports/2024-01/"))

    assert said == [
        "January 2024: 50 requests received, 40 of them about desertion or crossing a border.",
        "30 requests for help with desertion, against 12 in January 2023, a year earlier: "
        "2.50 times as many.",
        "It is a record: more desertion requests than in any earlier month.",
        "Since January 2023: 1,062 requests, 52 of them desertion-related.",
        "25 cases were resolved as helped to desert, 60% of them abroad (the rest hiding in the "
        "country). 25 in all since January 2023.",
        "25 cases were resolved this month, whatever their outcome (lost contact and detention "
        "included): not the number of people helped.",
    ]


def test_the_month_page_states_the_months_figures_in_russian(known_months):
    said = sentences(page_in(known_months, "ru", "/staff/reports/2024-01/"))

    assert said == [
        "Январь 2024: получено 50 заявок, из них о дезертирстве или переходе границы — 40.",
        "30 заявок о помощи с дезертирством, против 12 в январе 2023 года, годом раньше: "
        "в 2,50 раза больше.",
        "Это рекорд: заявок о дезертирстве больше, чем в любом прежнем месяце.",
        "С января 2023 года: 1\xa0062 заявки, из них о дезертирстве или переходе границы — 52.",
        "Помощь в дезертирстве: 25 дел, из них 60% — за границей (остальные скрываются в "
        "стране). Всего с января 2023 года: 25.",
        "В этом месяце решено 25 дел с любым исходом (включая потерю связи и задержание): "
        "это не число получивших помощь.",
    ]


def test_a_month_that_is_not_a_record_says_so(known_months):
    # June 2023 had no desertion request at all, after January's 12.
    said = sentences(page_in(known_months, "en", "/staff/reports/2023-06/"))

    assert "It is not a record: an earlier month had more desertion requests." in said
    assert said[0] == (
        "June 2023: 1,000 requests received, 0 of them about desertion or crossing a border."
    )


def test_the_year_on_year_tile_names_both_months(known_months):
    english = page_in(known_months, "en", "/staff/dashboard/")
    russian = page_in(known_months, "ru", "/staff/dashboard/")

    assert "Desertion requests, January 2024 against January 2023" in english
    assert "Заявки о дезертирстве за январь 2024 и за январь 2023" in russian
    # ... and the figures under it are this month's and the earlier one's, with the ratio.
    tile = re.search(r"January 2024 against January 2023</span>(.*?)</li>", english, re.S)
    figures = re.findall(r'data-figure="([^"]+)">([^<]*)<', tile.group(1))
    assert figures == [
        ("by_category.desertion", "30"),
        ("same_month_last_year.desertion", "12"),
        ("same_month_last_year.ratio", "2.50"),
    ]


def published(**overrides) -> dict:
    """A published report with every figure given, then some withheld (None)."""
    p = {
        "month": "2025-11",
        "requests": 1916,
        "desertion_related": 800,
        "by_category": {"desertion": 500},
        "same_month_last_year": {"month": "2024-11", "desertion": 416, "ratio": 1.2},
        "record_desertion_month": False,
        "cumulative": {
            "since": "2022-03",
            "requests": 9000,
            "desertion_related": 4000,
            "assisted_desertions": 300,
        },
        "assisted_desertions": 40,
        "share_abroad": 0.5,
        "resolved": 90,
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            p[key] = {**p[key], **value}
        else:
            p[key] = value
    return p


EVERY_BRANCH = [
    published(),
    published(same_month_last_year={"ratio": None}),
    published(same_month_last_year={"desertion": None, "ratio": None}),
    published(cumulative={"desertion_related": None}, share_abroad=None),
    published(cumulative={"requests": None, "assisted_desertions": None}, assisted_desertions=None),
    published(requests=None, desertion_related=None),
    published(desertion_related=None),
]
RU_MONTHS = "Январ|Феврал|Март|Апрел|Ма[йея]|Июн|Июл|Август|Сентябр|Октябр|Ноябр|Декабр"


def said_in(language: str, p: dict) -> list[str]:
    from django.utils import translation

    from reports.sentences import month_sentences

    with translation.override(language):
        return [re.sub(r"<[^>]+>", "", str(s.html)) for s in month_sentences(p)]


@pytest.mark.parametrize("p", EVERY_BRANCH)
def test_russian_sentences_put_months_in_their_case_mid_sentence(p):
    for sentence in said_in("ru", p):
        # Only a sentence's first word may be a capitalised month.
        inside = sentence.split(" ", 1)[1]
        assert not re.search(rf"\b({RU_MONTHS})", inside), sentence
        assert "(Ноябрь" not in sentence and "против Ноябрь" not in sentence


def test_the_year_earlier_is_in_the_prepositional_case():
    assert "против 416 в ноябре 2024 года, годом раньше" in said_in("ru", published())[1]
    withheld = said_in("ru", published(same_month_last_year={"desertion": None, "ratio": None}))
    assert "число за ноябрь 2024 года скрыто" in withheld[1]
    assert said_in("ru", published())[3].startswith("С марта 2022 года: 9\xa0000 заявок")


@pytest.mark.parametrize("p", EVERY_BRANCH)
def test_sentences_count_requests_and_cases_not_people(p):
    # No figure is said to count people ("not the number of people helped" may stay).
    for sentence in said_in("en", p):
        assert not re.search(r"\d (people|person)\b", sentence), sentence
    for sentence in said_in("ru", p):
        assert not re.search(r"\d (человек|людям|люд)", sentence), sentence
