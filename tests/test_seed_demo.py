"""`manage.py seed_demo`: fake data shaped like the published figures."""

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from cases.models import Case
from intake.demo import monthly_counts
from intake.models import HelpRequest
from tests.content_keys import opened


def test_the_curve_reproduces_the_published_desertion_figures():
    assert monthly_counts(date(2023, 1, 1))["desertion"] == 28
    assert monthly_counts(date(2024, 1, 1))["desertion"] == 284


def test_the_curve_spikes_at_the_mobilisation():
    totals = {m: sum(monthly_counts(date(2022, m, 1)).values()) for m in (8, 9, 10)}
    assert totals[9] > 2.5 * totals[8]
    assert totals[10] > totals[8]


def test_desertion_related_requests_are_about_nine_percent_over_two_years():
    months = [date(2022 + (2 + i) // 12, (2 + i) % 12 + 1, 1) for i in range(24)]
    counts = [monthly_counts(month) for month in months]
    total = sum(sum(c.values()) for c in counts)
    related = sum(c["desertion"] + c["border_crossing"] for c in counts)
    assert total > 24_000
    assert 0.08 < related / total < 0.10


@pytest.mark.django_db
def test_it_seeds_fake_requests_with_open_cases_in_every_state():
    out = io.StringIO()
    call_command("seed_demo", "--months", "3", "--seed", "7", stdout=out, stderr=io.StringIO())

    assert "Seeded" in out.getvalue()
    states = dict(Case.objects.values_list("state").annotate(n=Count("id")))
    for state in ("new", "triaged", "in_progress", "waiting", "resolved", "closed", "rejected"):
        assert states.get(state, 0) >= 3, state
    sample = opened(HelpRequest.objects.order_by("?").first(), "narrative", "contact")
    assert "[DEMO]" in sample["narrative"]
    assert sample["contact"].startswith("@demo_requester_")


@pytest.mark.django_db
def test_it_never_mixes_demo_data_into_a_database_with_requests():
    call_command("seed_demo", "--months", "1", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="only fills an empty database"):
        call_command("seed_demo", "--months", "1", stdout=io.StringIO())


def test_it_refuses_a_month_count_below_one():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--months", "0")
