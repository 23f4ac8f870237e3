"""
The figures in a real browser: the month under way is absent from the
dashboard's chart, and at a phone's 390 px no heading breaks inside a word and
every table that scrolls in its own region says so and can be reached by keyboard.
"""

from datetime import UTC, datetime

import pytest
from django.utils import translation
from django.utils.text import capfirst

from core import dates
from reports.months import current_month, label, shift
from reports.services import store_report
from tests.factories import CaseFactory
from tests.staffing import make_staff
from tests.test_browser import sign_in

# The chromium and open_page fixtures, with the screenshots of failed tests.
pytest_plugins = ["tests.browser"]

# Every region that scrolls sideways: is it reachable by keyboard, named, and
# announced by a visible hint just before it?
SCROLLING_REGIONS = """() => [...document.querySelectorAll(".table-scroll, .chart-scroll")]
  .filter((region) => region.scrollWidth > region.clientWidth)
  .map((region) => {
    const hint = region.previousElementSibling;
    return {
      focusable: region.tabIndex === 0,
      named: Boolean(region.getAttribute("aria-label") || region.getAttribute("aria-labelledby")),
      hinted: Boolean(hint && hint.matches(".scroll-hint") && hint.offsetHeight > 0
                      || region.matches(".chart-scroll")),
      shadowed: getComputedStyle(region).backgroundImage.includes("gradient"),
    };
  })"""

# Each word of each heading laid out on one line: a word whose text spans
# more than one line box was broken inside ("Dashbo|ard").
BROKEN_WORDS = """() => {
  const broken = [];
  for (const heading of document.querySelectorAll("h1, h2, h3, .brand")) {
    const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g;
      let match;
      while ((match = re.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@pytest.fixture
def months_with_one_under_way(transactional_db):
    for back in range(1, 4):
        month = shift(current_month(), -back)
        received = datetime(month.year, month.month, 3, tzinfo=UTC)
        CaseFactory.create_batch(12, request__received_at=received, request__category="desertion")
        store_report(month)
    under_way = current_month()
    CaseFactory(request__received_at=datetime(under_way.year, under_way.month, 1, tzinfo=UTC))
    store_report(under_way)
    return label(under_way)


@pytest.mark.django_db(transaction=True)
def test_the_month_under_way_is_absent_from_the_dashboard_chart(
    open_page, live_server, months_with_one_under_way
):
    page = open_page("dashboard-390")
    coordinator = make_staff("browser-coordinator", "coordinator")
    sign_in(page, live_server.url, coordinator)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/staff/dashboard/")

    chart = page.locator("svg.chart").first
    tooltips = chart.locator("rect title").all_text_contents()
    with translation.override("ru"):
        last_complete = capfirst(dates.month(shift(current_month(), -1)))
        under_way = capfirst(dates.month(current_month()))
    assert any(t.startswith(f"{last_complete} ·") for t in tooltips)
    assert not any(under_way in t for t in tooltips)
    # Only in the stored months' table, marked partial (the page is in Russian by default).
    assert page.locator(".partial").inner_text().startswith("неполный: по ")
    assert page.evaluate(BROKEN_WORDS) == []
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/staff/dashboard/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.evaluate(BROKEN_WORDS) == []
    regions = page.evaluate(SCROLLING_REGIONS)
    assert regions, "at 390 px the cohort and stored months' tables scroll"
    cue = {"focusable": True, "named": True, "hinted": True, "shadowed": True}
    assert all(region == cue for region in regions), regions
    assert page.problems == []
