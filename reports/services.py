"""
The monthly report of SPEC.md, computed by the database.

Five grouped queries, whatever the number of requests:

1. a monthly series of all requests received before the month's end (total,
   desertion, border crossing per month): this month's counts by category, the
   same month last year, the cumulative figures and the record check;
2. this month's requests broken down by channel, legal article, location, and
   (for desertion-related requests) service status;
3. resolutions, counted in the month of `resolved_at`: this month's by outcome,
   and assisted desertions to date;
4. the cohort table: the requests received in each of the twelve months
   whose row has matured (COHORT_HORIZON), by how they had ended at the end of
   the row's own twelfth month;
5. this month's requests with the time of their first response (the first
   staff reply or move out of `new`), for the median and 90th percentile.

Only plaintext slugs and dates are read; nothing is decrypted (a staff reply
counts by its timestamp alone, never its body).
"""

import math
import statistics
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.workflow import ASSISTED_DESERTION, CaseState, Outcome
from intake.models import HelpRequest, RequestMessage
from intake.vocabulary import (
    DESERTION_RELATED,
    Category,
    Channel,
    LegalArticle,
    Location,
    ServiceStatus,
)
from reports.models import MonthlyReport
from reports.months import bounds, current_month, label, month_of, parse_label, shift


def _monthly_series(end) -> dict[date, dict[str, int]]:
    rows = (
        HelpRequest.objects.filter(received_at__lt=end)
        .annotate(month=TruncMonth("received_at"))
        .values("month")
        .annotate(
            total=Count("id"),
            desertion=Count("id", filter=Q(category=Category.DESERTION)),
            border_crossing=Count("id", filter=Q(category=Category.BORDER_CROSSING)),
        )
        .order_by()
    )
    return {month_of(row.pop("month")): row for row in rows}


def _breakdown(start, end) -> dict[str, int]:
    related = Q(category__in=DESERTION_RELATED)
    counts = {}
    for value in Channel.values:
        counts[f"channel:{value}"] = Count("id", filter=Q(channel=value))
    for value in LegalArticle.values:
        counts[f"article:{value}"] = Count("id", filter=Q(legal_articles__contains=value))
    for value in Location.values:
        counts[f"location:{value}"] = Count("id", filter=Q(location=value))
    for value in ServiceStatus.values:
        counts[f"status:{value}"] = Count("id", filter=related & Q(service_status=value))
    return HelpRequest.objects.filter(received_at__gte=start, received_at__lt=end).aggregate(
        **counts
    )


def _resolutions(start, end) -> dict[str, int]:
    in_month = Q(resolved_at__gte=start)
    counts = {"resolved": Count("id", filter=in_month)}
    for value in Outcome.values:
        counts[f"outcome:{value}"] = Count("id", filter=in_month & Q(outcome=value))
    counts["assisted_to_date"] = Count("id", filter=Q(outcome__in=ASSISTED_DESERTION))
    return Case.objects.filter(resolved_at__lt=end).aggregate(**counts)


COHORT_MONTHS = 12
# A cohort row matures at the end of the COHORT_HORIZON-th month counting the
# month received (12: a request received in January 2024 is followed to the
# end of December 2024), and is published only as it stood then. Every page
# that shows the row shows the same figures: a row followed to each page's own
# month would appear on twelve pages at twelve dates, and two of them
# subtracted would say how many requests of that month ended how in between
# ("exactly one request received in January ended detained in March").
COHORT_HORIZON = 12


def cohort_months(month: date) -> list[date]:
    """The months received whose rows the report for `month` shows: the last mature ones."""
    newest = shift(month, -(COHORT_HORIZON - 1))
    return [shift(newest, -back) for back in range(COHORT_MONTHS - 1, -1, -1)]


def matured(received: date) -> date:
    """The month at whose end a cohort row is taken."""
    return shift(received, COHORT_HORIZON - 1)


def _cohort(month: date) -> list[dict[str, Any]]:
    """
    For each of the COHORT_MONTHS months received whose row has matured by the
    end of `month`, how its requests stood at the end of the row's own horizon
    (COHORT_HORIZON), not at the end of `month`: resolved with an outcome (by
    `resolved_at`), rejected, or no outcome yet. Every request has a case; one
    without would count as pending, so the parts always add up to `received`.

    A row maturing with a month still under way is left out: it would change
    from night to night, and two versions differ by single requests.
    """
    months = [when for when in cohort_months(month) if matured(when) < current_month()]
    if not months:
        return []
    counts = {}
    for i, received in enumerate(months):
        start, _end = bounds(received)
        end = bounds(matured(received))[1]
        row = Q(received_at__gte=start, received_at__lt=_end)
        ended = Q(case__resolved_at__lt=end) & ~Q(case__outcome="")
        counts[f"m{i}:received"] = Count("id", filter=row)
        counts[f"m{i}:rejected"] = Count(
            "id",
            filter=row & ~ended & Q(case__state=CaseState.REJECTED, case__closed_at__lt=end),
        )
        for value in Outcome.values:
            counts[f"m{i}:{value}"] = Count("id", filter=row & ended & Q(case__outcome=value))
    # One pass over the requests of the rows' months, a filtered count per cell
    # (no per-row month function, which SQLite computes in Python).
    totals = HelpRequest.objects.filter(
        received_at__gte=bounds(months[0])[0], received_at__lt=bounds(months[-1])[1]
    ).aggregate(**counts)
    table = []
    for i, when in enumerate(months):
        by_outcome = {value: totals[f"m{i}:{value}"] for value in Outcome.values}
        rejected, received = totals[f"m{i}:rejected"], totals[f"m{i}:received"]
        table.append({
            "month": label(when),
            "as_of": label(matured(when)),
            "received": received,
            "by_outcome": by_outcome,
            "rejected": rejected,
            "pending": received - sum(by_outcome.values()) - rejected,
        })  # fmt: skip
    return table


def _hours(since: datetime, until: datetime) -> float:
    # Times are kept to the hour (received_at and sent_at are truncated), so a
    # reply can seem to precede its request by the truncation: never below zero.
    return max(0.0, (until - since).total_seconds() / 3600)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of them at or below it."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _first_response(start, end) -> dict[str, Any]:
    """
    Time from receipt to the first response, for the requests received in
    [start, end): the first staff reply (its timestamp only) or the first move
    of the case out of `new`, whichever came first, as the history stands now.
    """
    first_move = (
        CaseEvent.objects.filter(
            case__request=OuterRef("pk"),
            kind=CaseEvent.Kind.MOVED,
            from_state=CaseState.NEW,
        )
        .order_by("at")
        .values("at")[:1]
    )
    first_reply = (
        RequestMessage.objects.filter(request=OuterRef("pk"), sender=RequestMessage.Sender.STAFF)
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    rows = (
        HelpRequest.objects.filter(received_at__gte=start, received_at__lt=end)
        .annotate(first_move=Subquery(first_move), first_reply=Subquery(first_reply))
        .values_list("received_at", "first_move", "first_reply", "case__state")
        .order_by()
    )
    times, waiting, unrecorded = [], 0, 0
    for received_at, moved, replied, state in rows:
        responses = [moment for moment in (moved, replied) if moment is not None]
        if responses:
            times.append(_hours(received_at, min(responses)))
        elif state in (None, CaseState.NEW):
            waiting += 1
        else:  # imported history: its case never passed through `new` here
            unrecorded += 1
    times.sort()
    return {
        "answered": len(times),
        "waiting": waiting,
        "unrecorded": unrecorded,
        "median_hours": round(statistics.median(times), 1) if times else None,
        "p90_hours": round(_percentile(times, 0.9), 1) if times else None,
    }


def _prefixed(counts: dict[str, int], prefix: str, values: list[str]) -> dict[str, int]:
    return {value: counts[f"{prefix}:{value}"] for value in values}


def monthly_report(month: date, series: dict | None = None) -> dict[str, Any]:
    """
    Every key of SPEC.md's report for `month` (the first day of a month).
    `series` is `_monthly_series` up to a later month, when many months are
    computed at once: on SQLite each series costs a pass over every request.
    """
    start, end = bounds(month)
    if series is None:
        series = _monthly_series(end)
    series = {when: row for when, row in series.items() if when <= month}
    empty = {"total": 0, "desertion": 0, "border_crossing": 0}
    this = series.get(month, empty)
    earlier_desertion = [row["desertion"] for when, row in series.items() if when < month]
    last_year = series.get(shift(month, -12), empty)["desertion"]
    breakdown = _breakdown(start, end)
    resolutions = _resolutions(start, end)
    by_outcome = _prefixed(resolutions, "outcome", Outcome.values)
    assisted = sum(by_outcome[value] for value in ASSISTED_DESERTION)
    return {
        "month": label(month),
        "requests": this["total"],
        "by_category": {
            Category.DESERTION: this["desertion"],
            Category.BORDER_CROSSING: this["border_crossing"],
            Category.CONSULTATION: this["total"] - this["desertion"] - this["border_crossing"],
        },
        "desertion_related": this["desertion"] + this["border_crossing"],
        "by_service_status": _prefixed(breakdown, "status", ServiceStatus.values),
        "by_channel": _prefixed(breakdown, "channel", Channel.values),
        "by_legal_article": _prefixed(breakdown, "article", LegalArticle.values),
        "by_location": _prefixed(breakdown, "location", Location.values),
        "resolved": resolutions["resolved"],
        "by_outcome": by_outcome,
        "assisted_desertions": assisted,
        "share_abroad": by_outcome[Outcome.LEFT_COUNTRY] / assisted if assisted else None,
        "same_month_last_year": {
            "desertion": last_year,
            "ratio": round(this["desertion"] / last_year, 2) if last_year else None,
        },
        "cumulative": {
            "requests": sum(row["total"] for row in series.values()),
            "desertion_related": sum(
                row["desertion"] + row["border_crossing"] for row in series.values()
            ),
            "assisted_desertions": resolutions["assisted_to_date"],
        },
        "record_desertion_month": this["desertion"] > max(earlier_desertion, default=0),
        "cohort": _cohort(month),
        "first_response": _first_response(start, end),
    }


def rebuild_reports(months: list[date]) -> dict[str, dict[str, Any]]:
    """
    Every month's report computed afresh from the data, keyed by the month's
    ISO date (a backup's manifest and a restore check compare these). One
    series serves every month, as in `store_reports`.
    """
    series = _monthly_series(bounds(max(months))[1]) if months else None
    return {month.isoformat(): monthly_report(month, series) for month in sorted(months)}


def store_report(month: date) -> MonthlyReport:
    """
    Compute and keep the month's report, with its published figures: one row
    per month, replaced in place.
    """
    return store_reports([month])[0]


def store_reports(months: list[date]) -> list[MonthlyReport]:
    """
    `store_report` for several months, working out the export's suppression
    of every month once for them all.
    """
    # Imported here: publication builds on the export, which builds on this module.
    from reports.publication import history, publish

    past = history(max(months)) if months else None
    series = _monthly_series(bounds(max(months))[1]) if len(months) > 1 else None
    stored = []
    for month in sorted(months):  # a row's maturity page before the later ones
        data = monthly_report(month, series)
        published = publish(data, past)
        with transaction.atomic():
            _settled_rows(month, data, published)
            report, _created = MonthlyReport.objects.update_or_create(
                month=month,
                defaults={"data": data, "published": published, "generated_at": timezone.now()},
            )
            _spread_own_row(month, data, published)
        stored.append(report)
    return stored


def _row(rows: list[dict], received: str) -> dict | None:
    return next((row for row in rows if row["month"] == received and "as_of" in row), None)


def _settled_rows(month: date, data: dict, published: dict) -> None:
    """
    Each cohort row whose maturity page is stored already, as that page has
    it: a page regenerated after the history changed (a case reopened, an
    import) would otherwise show the row in a second version, and two
    versions differ by single requests. A row is worked out once, with the
    page of the month it matures in.
    """
    this = label(month)
    maturing = {row["as_of"]: row["month"] for row in data["cohort"] if row["as_of"] != this}
    earlier = MonthlyReport.objects.filter(month__in=[parse_label(m) for m in maturing])
    for report in earlier.only("month", "data", "published"):
        received = maturing[label(report.month)]
        kept = _row(report.data.get("cohort", []), received)
        shown = _row(report.published.get("cohort", []), received)
        if kept is None or shown is None:
            continue  # stored before rows were taken at maturity: this page's own stands
        for rows, row in ((data["cohort"], kept), (published["cohort"], shown)):
            rows[rows.index(_row(rows, received))] = row


def _spread_own_row(month: date, data: dict, published: dict) -> None:
    """The row maturing with `month`, as now stored, on the later pages that show it."""
    this = label(month)
    received = next((row["month"] for row in data["cohort"] if row["as_of"] == this), None)
    if received is None:
        return
    kept, shown = _row(data["cohort"], received), _row(published["cohort"], received)
    later = MonthlyReport.objects.filter(
        month__gt=month, month__lte=shift(month, COHORT_MONTHS - 1)
    ).select_for_update()
    for report in later:
        changed = False
        for tree, row in ((report.data, kept), (report.published, shown)):
            rows = tree.get("cohort", [])
            old = _row(rows, received)
            if old is not None and old != row:
                rows[rows.index(old)] = row
                changed = True
        if changed:
            report.save(update_fields=["data", "published"])


def months_with_requests() -> list[date]:
    """Every month from the first request to the current one."""
    first = (
        HelpRequest.objects.order_by("received_at").values_list("received_at", flat=True).first()
    )
    if first is None:
        return []
    month, last, months = month_of(timezone.localtime(first)), current_month(), []
    while month <= last:
        months.append(month)
        month = shift(month, 1)
    return months
