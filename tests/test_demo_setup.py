"""`manage.py demo_setup`, what `dev.py run` prepares for a newcomer."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import remaining_backup_codes, verify_second_factor
from cases.models import Case
from cases.retention import expired_cases
from intake.models import HelpRequest
from reports.models import MonthlyReport

pytestmark = pytest.mark.django_db
CODE = r"[a-z2-7]{5}-[a-z2-7]{5}"


def demo_setup(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def printed_codes(output: str) -> dict[str, list[str]]:
    """Each demo account's backup codes as printed, and the count printed beside them."""
    found = {}
    for block in re.split(r"\n(?=  \w+ +user )", output)[1:]:
        username = re.search(r"user (\S+)", block).group(1)
        count = int(re.search(r"(\d+) backup codes:", block).group(1))
        found[username] = (count, re.findall(CODE, block))
    return found


def test_it_seeds_the_months_asked_for_and_erases_what_the_purge_would_have(settings):
    settings.DEBUG = True
    settings.RETENTION_DAYS = 20

    output = demo_setup("--months", "2")

    assert "Seeded" in output and "over 2 month(s)" in output
    assert MonthlyReport.objects.count() == 2
    assert not expired_cases().exists()
    purged = Case.objects.filter(purged_at__isnull=False)
    assert purged.exists()
    assert f"Erased the content of {purged.count()} finished case(s)" in output
    assert HelpRequest.objects.filter(case__in=purged, narrative__isnull=False).count() == 0


def test_every_backup_code_the_security_page_counts_is_printed(settings):
    settings.DEBUG = True

    accounts = printed_codes(demo_setup("--months", "1"))

    assert set(accounts) == {"demo-caseworker", "demo-coordinator", "demo-admin"}
    for username, (count, codes) in accounts.items():
        user = get_user_model().objects.get(username=username)
        assert count == len(codes) == remaining_backup_codes(user) == 10
        assert verify_second_factor(user, codes[-1]) is not None


def test_a_second_start_renews_the_accounts_and_seeds_nothing(settings):
    settings.DEBUG = True
    first = printed_codes(demo_setup("--months", "1"))
    requests = HelpRequest.objects.count()

    second = printed_codes(demo_setup("--months", "1"))

    assert HelpRequest.objects.count() == requests
    assert first["demo-admin"][1] != second["demo-admin"][1]


def test_it_refuses_to_run_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG only"):
        demo_setup()
    assert not HelpRequest.objects.exists()


def otpauth_links(output: str) -> dict[str, str]:
    return dict(re.findall(r"user (\S+) .*?\n.*?(otpauth://\S+)", output, flags=re.S))


def test_a_second_start_keeps_the_authenticators_unless_asked_fresh(settings):
    from accounts.models import AuthenticatorDevice

    settings.DEBUG = True
    first = demo_setup("--months", "1")
    devices = set(AuthenticatorDevice.objects.values_list("pk", flat=True))

    second = demo_setup("--months", "1")
    assert set(AuthenticatorDevice.objects.values_list("pk", flat=True)) == devices
    assert otpauth_links(second) == otpauth_links(first)
    assert len(otpauth_links(first)) == 3

    fresh = demo_setup("--months", "1", "--fresh")
    assert not devices & set(AuthenticatorDevice.objects.values_list("pk", flat=True))
    assert set(otpauth_links(fresh).values()).isdisjoint(otpauth_links(first).values())


def test_the_demo_is_a_working_day_for_its_caseworker(settings):
    from django.utils import timezone

    from cases.models import CaseEvent, ReplyTemplate

    settings.DEBUG = True
    output = demo_setup("--months", "2")
    caseworker = get_user_model().objects.get(username="demo-caseworker")
    mine = Case.objects.filter(assigned_to=caseworker)
    today = timezone.localdate()

    assert mine.count() == 8
    assert mine.filter(follow_up_on=today).exists()
    assert mine.filter(follow_up_on__lt=today).exists()
    # Here the organisation key belongs to the tests, so the demo caseworker's
    # session opens nothing and writes no template; with keys, it writes three.
    from cases.demo import working_day
    from tests.content_keys import organisation_keys

    assert ReplyTemplate.objects.count() == 0
    assert working_day(caseworker, organisation_keys())["templates"] == 3
    assert ReplyTemplate.objects.count() == 3
    moved = CaseEvent.objects.filter(kind=CaseEvent.Kind.MOVED, from_state="new")
    assert moved.exists()
    assert "A working day for demo-caseworker: 8 case(s) assigned" in output
    # The stored report of the last complete month has first-response figures.
    latest = MonthlyReport.objects.filter(month__lt=today.replace(day=1)).order_by("-month")[0]
    assert latest.published["first_response"]["median_hours"] is not None
    # A second start does it no twice.
    demo_setup("--months", "2")
    assert Case.objects.filter(assigned_to=caseworker).count() == 8
    assert ReplyTemplate.objects.count() == 3
    assert moved.count() == CaseEvent.objects.filter(kind="moved", from_state="new").count()
