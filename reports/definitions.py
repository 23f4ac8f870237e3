"""
What each published figure counts, and by which date, in plain words.

Every tile, chart, table, sentence and download of the reports names one of
these keys; the definitions page (/staff/reports/definitions/) shows them all,
each under its own anchor, and the XLSX download carries them as a sheet.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


def _with_floor(text: str) -> Promise:
    """`text` translated, with the smallest published count (a setting) put in when read."""
    return lazy(lambda: gettext(text) % {"floor": settings.MIN_PUBLISHED_CELL}, str)()


@dataclass(frozen=True)
class Definition:
    key: str
    term: Promise
    # One line beside a figure: what it counts and by which date.
    short: Promise
    # The whole definition, on the definitions page.
    text: Promise


DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in (
        Definition(
            "requests",
            _("Requests received"),
            _("Every request, counted in the month it was received."),
            _(
                "Every help request, whatever it is about, counted once in the month it was "
                "received (its received date, in the organisation’s time zone). Received dates "
                "are kept to the hour."
            ),
        ),
        Definition(
            "desertion_related",
            _("Desertion-related requests"),
            _("Requests about desertion or crossing a border, by month received."),
            _(
                "Requests in the categories desertion and border crossing together, counted in "
                "the month they were received. Consultations are not included."
            ),
        ),
        Definition(
            "desertion",
            _("Desertion requests"),
            _("Requests in the category desertion only, by month received."),
            _(
                "Requests in the category desertion alone (border crossing not included), "
                "counted in the month they were received. This is the figure compared with a "
                "year earlier and used for record months."
            ),
        ),
        Definition(
            "category",
            _("Requests by category"),
            _("Every request by what it is about, by month received."),
            _(
                "Every request by its category (desertion, border crossing, consultation), in "
                "the month it was received. They add up to the requests received."
            ),
        ),
        Definition(
            "service_status",
            _("Service status of potential deserters"),
            _("Desertion-related requests only, by the service status given, by month received."),
            _(
                "Counts only desertion-related requests (desertion and border crossing), by the "
                "service status the requester gave, in the month they were received. "
                "Consultations are not counted here, so these figures add up to the "
                "desertion-related requests, not to all requests. In downloads these are the "
                "columns service_status_*."
            ),
        ),
        Definition(
            "channel",
            _("Requests by channel"),
            _("Every request by the way it reached us, by month received."),
            _(
                "Every request by the channel it came through (web form, Telegram, Signal, "
                "e-mail, phone, other), in the month it was received. They add up to the "
                "requests received."
            ),
        ),
        Definition(
            "legal_article",
            _("Requests by legal article"),
            _("Requests citing each article, by month received; one may cite several."),
            _(
                "Requests whose requester feared prosecution under each article of the Russian "
                "Criminal Code (332 refusing orders, 337 absence without leave, 338 desertion), "
                "in the month they were received. A request may cite several articles or none, "
                "so these figures do not add up to the requests."
            ),
        ),
        Definition(
            "location",
            _("Requests by location"),
            _("Every request by the coarse area given, by month received."),
            _(
                "Every request by the coarse area the requester gave (home country, occupied "
                "territory, front line, abroad, unknown), in the month it was received."
            ),
        ),
        Definition(
            "resolved",
            _("Resolved cases"),
            _("Cases resolved, by month resolved, whatever the outcome: not “people helped”."),
            _(
                "Cases moved to resolved, counted in the month of their resolution, not the "
                "month the request came in. It includes every outcome: left the country, hiding "
                "in the country, consultation given and referred elsewhere, but also lost "
                "contact, detained, returned to service and declined. Do not publish it as "
                "“people helped”: “helped to desert” is that figure. A case reopened later no "
                "longer counts."
            ),
        ),
        Definition(
            "outcome",
            _("Resolutions by outcome"),
            _("Resolved cases by outcome, by month resolved."),
            _(
                "Resolved cases by their outcome, counted in the month they were resolved. They "
                "add up to the resolved cases."
            ),
        ),
        Definition(
            "assisted_desertions",
            _("Helped to desert"),
            _("Cases resolved as left the country or hiding in it, by month resolved."),
            _(
                "Cases resolved with the outcome “left the country” or “hiding in the country”, "
                "counted in the month they were resolved. Each case is one person."
            ),
        ),
        Definition(
            "share_abroad",
            _("Share abroad"),
            _("Of those helped to desert in the month, the share who left the country."),
            _(
                "Of the people helped to desert in the month, the share whose outcome is “left "
                "the country”; the rest are hiding in the country. Given only when both figures "
                "are published."
            ),
        ),
        Definition(
            "year_on_year",
            _("Against a year earlier"),
            _("Desertion requests this month against the same month a year earlier."),
            _(
                "Desertion requests of the month against desertion requests of the same calendar "
                "month one year earlier; the ratio is the first divided by the second, to two "
                "decimals. Not given when either month is withheld or the earlier one is zero."
            ),
        ),
        Definition(
            "record",
            _("Record month"),
            _("More desertion requests than in any earlier month."),
            _(
                "A month whose desertion requests are strictly more than in every earlier "
                "month on record."
            ),
        ),
        Definition(
            "cumulative",
            _("Since the start"),
            _("Every month from the first recorded request up to this one."),
            _(
                "The sum of every month from the first recorded request up to and including "
                "this month: requests and desertion-related requests by month received, people "
                "helped to desert by month resolved. Given only when every one of those months "
                "is published: otherwise the difference between two totals would reveal a "
                "withheld month."
            ),
        ),
        Definition(
            "cohort",
            _("Outcomes by month received"),
            _("Requests received each month, by how they had ended twelve months on."),
            _(
                "Follows the requests received in each month (one row per month received) and "
                "says how they had ended by the end of their twelfth month, the month received "
                "counting as the first (for January 2024, by the end of December 2024): resolved "
                "with each outcome, rejected, or no outcome yet (still open, or closed without a "
                "recorded outcome). Unlike “resolved”, it counts by the month the request came "
                "in, so it answers “of the requests received in January, how many ended how”. "
                "A row is shown only once those twelve months are over, and always with the same "
                "figures, withheld alike, on every page that shows it: rows followed up to each "
                "page’s own month could be subtracted from one another to tell how many requests "
                "ended how in a single month."
            ),
        ),
        Definition(
            "first_response",
            _("Time to first response"),
            _("Hours from receipt to the first reply or move out of “new”, by month received."),
            _(
                "For the requests received in the month: the time from receipt to the first "
                "reply to the requester or the first move of the case out of “new”, whichever "
                "came first, taken from the case history (never from what anyone wrote). Shown "
                "as the median (half were answered faster) and the 90th percentile (nine in ten "
                "were answered within it). Times are kept to the hour, so these are whole hours, "
                "give or take one, and never below zero. Requests still waiting when the report "
                "was made, and imported history without a recorded response, are counted apart "
                "and left out of the times. Given only for a publishable number of answered "
                "requests."
            ),
        ),
        Definition(
            "withheld",
            _("Withheld figures"),
            _("Small counts, and figures that would reveal them, are not shown."),
            _with_floor(
                gettext_noop(
                    "Every count from 1 up to just below the smallest published count "
                    "(%(floor)s on these pages; a download states its own, never less) is "
                    "withheld, and so are enough other figures that none can be worked out from "
                    "everything published, across months and downloads; a withheld figure can "
                    "therefore also be a large one. Zero is shown as 0. Pages, sentences, charts "
                    "and downloads withhold the same figures as the statistics export; in "
                    "spreadsheets a withheld cell is empty and marked in the status sheet."
                )
            ),
        ),
    )
}


@cache
def _definitions_path(prefix: str) -> str:
    return reverse("reports:definitions")


def definition_url(key: str) -> str:
    """The definitions page, at `key`'s entry (a page has a dozen: reversed once)."""
    if key not in DEFINITIONS:
        raise KeyError(key)
    return f"{_definitions_path(get_script_prefix())}#{key}"
