"""
The monthly report of SPEC.md, computed by the database.

Three grouped queries, whatever the number of requests:

1. a monthly series of all requests received before the month's end (total,
   desertion, border crossing per month): this month's counts by category, the
   same month last year, the cumulative figures and the record check;
2. this month's requests broken down by channel, legal article, location, and
   (for desertion-related requests) service status;
3. resolutions, counted in the month of `resolved_at`: this month's by outcome,
   and assisted desertions to date.

Only plaintext slugs and dates are read; nothing is decrypted.
"""

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cases.models import Case
from cases.workflow import ASSISTED_DESERTION, Outcome
from intake.models import HelpRequest
from intake.vocabulary import (
    DESERTION_RELATED,
    Category,
    Channel,
    LegalArticle,
    Location,
    ServiceStatus,
)
from reports.models import MonthlyReport
from reports.months import bounds, current_month, label, shift


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
    return {_as_month(row.pop("month")): row for row in rows}


def _as_month(value) -> date:
    if hasattr(value, "astimezone"):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


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


def _prefixed(counts: dict[str, int], prefix: str, values: list[str]) -> dict[str, int]:
    return {value: counts[f"{prefix}:{value}"] for value in values}


def monthly_report(month: date) -> dict[str, Any]:
    """Every key of SPEC.md's report for `month` (the first day of a month)."""
    start, end = bounds(month)
    series = _monthly_series(end)
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
    }


def store_report(month: date) -> MonthlyReport:
    """Compute and keep the month's report: one row per month, replaced in place."""
    data = monthly_report(month)
    with transaction.atomic():
        report, _created = MonthlyReport.objects.update_or_create(
            month=month, defaults={"data": data, "generated_at": timezone.now()}
        )
    return report


def months_with_requests() -> list[date]:
    """Every month from the first request to the current one."""
    first = (
        HelpRequest.objects.order_by("received_at").values_list("received_at", flat=True).first()
    )
    if first is None:
        return []
    month, last, months = _as_month(timezone.localtime(first)), current_month(), []
    while month <= last:
        months.append(month)
        month = shift(month, 1)
    return months
