"""
A month's figures in words, as the press writes them, from the published
figures only (reports.publication): a withheld figure (None) is never put in a
sentence; the sentence says it is withheld, or is left out.

Every figure in a sentence is wrapped in `<span data-figure="path">`, the
path into the published report, so tests and readers can tell which figure
each number is; every sentence names the definitions it relies on.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import dates
from reports.months import parse_label


@dataclass(frozen=True)
class Sentence:
    html: SafeString
    definitions: tuple[str, ...]


def figure(path: str, value: int | float, decimals: int | None = None) -> SafeString:
    shown = number_format(value, decimal_pos=decimals, force_grouping=True)
    return format_html('<span class="figure" data-figure="{}">{}</span>', path, shown)


def month_name(text: str) -> str:
    """A month opening a sentence: "January 2024" / «Январь 2024»."""
    return capfirst(dates.month(parse_label(text)))


def in_month(text: str) -> str:
    return dates.in_month(parse_label(text))


def since_month(text: str) -> str:
    return dates.since_month(parse_label(text))


def for_month(text: str) -> str:
    return dates.for_month(parse_label(text))


def _with(template: str, **values: Any) -> SafeString:
    """A translated template whose %(name)s places take escaped values or figures."""
    braced = template.replace("{", "{{").replace("}", "}}")
    braced = re.sub(r"%\((\w+)\)s", r"{\1}", braced).replace("%%", "%")
    return format_html(braced, **values)


def _requests(p: dict) -> Sentence:
    month = month_name(p["month"])
    requests, related = p["requests"], p["desertion_related"]
    if requests is None:
        text = _with(_("%(month)s: the number of requests received is withheld."), month=month)
    elif related is None:
        text = _with(
            ngettext(
                "%(month)s: %(requests)s request received.",
                "%(month)s: %(requests)s requests received.",
                requests,
            ),
            month=month,
            requests=figure("requests", requests),
        )
    else:
        text = _with(
            ngettext(
                "%(month)s: %(requests)s request received, %(related)s of them about desertion "
                "or crossing a border.",
                "%(month)s: %(requests)s requests received, %(related)s of them about desertion "
                "or crossing a border.",
                requests,
            ),
            month=month,
            requests=figure("requests", requests),
            related=figure("desertion_related", related),
        )
    return Sentence(text, ("requests", "desertion_related"))


def _year_on_year(p: dict) -> Sentence | None:
    # Requests, not people: a requester who wrote twice is counted twice here.
    desertion = p["by_category"]["desertion"]
    earlier = p["same_month_last_year"]
    if desertion is None:
        return None
    now = figure("by_category.desertion", desertion)
    if earlier["desertion"] is None:
        text = _with(
            ngettext(
                "%(count)s request for help with desertion; the figure %(then)s is withheld.",
                "%(count)s requests for help with desertion; the figure %(then)s is withheld.",
                desertion,
            ),
            count=now,
            then=for_month(earlier["month"]),
        )
    elif earlier["ratio"] is None:
        text = _with(
            ngettext(
                "%(count)s request for help with desertion, against %(before)s %(then)s, "
                "a year earlier.",
                "%(count)s requests for help with desertion, against %(before)s %(then)s, "
                "a year earlier.",
                desertion,
            ),
            count=now,
            before=figure("same_month_last_year.desertion", earlier["desertion"]),
            then=in_month(earlier["month"]),
        )
    else:
        text = _with(
            ngettext(
                "%(count)s request for help with desertion, against %(before)s %(then)s, "
                "a year earlier: %(ratio)s times as many.",
                "%(count)s requests for help with desertion, against %(before)s %(then)s, "
                "a year earlier: %(ratio)s times as many.",
                desertion,
            ),
            count=now,
            before=figure("same_month_last_year.desertion", earlier["desertion"]),
            then=in_month(earlier["month"]),
            ratio=figure("same_month_last_year.ratio", earlier["ratio"], decimals=2),
        )
    return Sentence(text, ("desertion", "year_on_year"))


def _record(p: dict) -> Sentence | None:
    if p["record_desertion_month"] is None:
        return None
    if p["record_desertion_month"]:
        text = _("It is a record: more desertion requests than in any earlier month.")
    else:
        text = _("It is not a record: an earlier month had more desertion requests.")
    return Sentence(format_html("{}", text), ("record",))


def _cumulative(p: dict) -> Sentence:
    total = p["cumulative"]
    since = capfirst(since_month(total["since"]))
    requests, related = total["requests"], total["desertion_related"]
    if requests is not None and related is not None:
        text = _with(
            ngettext(
                "%(since)s: %(requests)s request, %(related)s of them desertion-related.",
                "%(since)s: %(requests)s requests, %(related)s of them desertion-related.",
                requests,
            ),
            since=since,
            requests=figure("cumulative.requests", requests),
            related=figure("cumulative.desertion_related", related),
        )
    elif requests is not None:
        text = _with(
            ngettext(
                "%(since)s: %(requests)s request.",
                "%(since)s: %(requests)s requests.",
                requests,
            ),
            since=since,
            requests=figure("cumulative.requests", requests),
        )
    else:
        text = _with(
            _(
                "The totals %(since)s are withheld: a month on the way has a withheld "
                "figure that they would reveal."
            ),
            since=since_month(total["since"]),
        )
    return Sentence(text, ("cumulative", "requests", "desertion_related"))


def _helped(p: dict) -> Sentence:
    # Cases, not people: a requester helped after two requests is two cases.
    assisted, share = p["assisted_desertions"], p["share_abroad"]
    since_total = p["cumulative"]["assisted_desertions"]
    if assisted is None:
        parts = [_("The number of cases resolved as helped to desert this month is withheld.")]
    elif share is not None:
        parts = [
            _with(
                ngettext(
                    "%(count)s case was resolved as helped to desert, %(share)s%% of them "
                    "abroad (the rest hiding in the country).",
                    "%(count)s cases were resolved as helped to desert, %(share)s%% of them "
                    "abroad (the rest hiding in the country).",
                    assisted,
                ),
                count=figure("assisted_desertions", assisted),
                share=figure("share_abroad", round(share * 100)),
            )
        ]
    else:
        parts = [
            _with(
                ngettext(
                    "%(count)s case was resolved as helped to desert.",
                    "%(count)s cases were resolved as helped to desert.",
                    assisted,
                ),
                count=figure("assisted_desertions", assisted),
            )
        ]
    if since_total is not None:
        parts.append(
            _with(
                _("%(count)s in all %(since)s."),
                count=figure("cumulative.assisted_desertions", since_total),
                since=since_month(p["cumulative"]["since"]),
            )
        )
    text = format_html(" ".join("{}" for _part in parts), *parts)
    return Sentence(text, ("assisted_desertions", "share_abroad", "cumulative"))


def _resolved(p: dict) -> Sentence | None:
    resolved = p["resolved"]
    if resolved is None:
        return None
    text = _with(
        ngettext(
            "%(count)s case was resolved this month, whatever its outcome (lost contact and "
            "detention included): not the number of people helped.",
            "%(count)s cases were resolved this month, whatever their outcome (lost contact and "
            "detention included): not the number of people helped.",
            resolved,
        ),
        count=figure("resolved", resolved),
    )
    return Sentence(text, ("resolved",))


def month_sentences(published: dict) -> list[Sentence]:
    """The figures of a published report in words, in the active language."""
    made = (
        _requests(published),
        _year_on_year(published),
        _record(published),
        _cumulative(published),
        _helped(published),
        _resolved(published),
    )
    return [sentence for sentence in made if sentence is not None]
