"""
Bad input gets a clear 400 or 404 and never a 500: deeply nested JSON, months
out of any sane range, NUL characters in a path or a query string, and random
query parameters on every staff page.
"""

import io
import json
import urllib.parse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.services import record
from intake.models import HelpRequest
from intake.services import create_bot_token
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in
from tests.test_security_headers import site_paths

pytestmark = pytest.mark.django_db


@pytest.fixture
def omni(client):
    """Signed in as a caseworker who is also coordinator and admin: every staff page."""
    person = make_staff("omni", "caseworker", "coordinator", "admin")
    sign_in(client, person)
    return person


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"narrative": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"a": ' * 30_000 + "1" + "}" * 30_000,
    ],
)
def test_deeply_nested_json_is_a_400_for_the_api(client, body):
    token = create_bot_token("nest-bot", "telegram", actor=None)[1]

    response = client.post(
        "/api/v1/requests", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["error"] == "The body is not valid JSON."
    assert HelpRequest.objects.count() == 0


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "0999-12", "1999-12"])
def test_a_month_out_of_range_is_a_404_page_and_a_clear_command_error(client, omni, month):
    assert client.get(f"/staff/reports/{month}/").status_code == 404

    with pytest.raises(CommandError, match="before 2000-01"):
        call_command("monthly_report", month, stdout=io.StringIO())


@pytest.mark.parametrize("first", ["0000-01", "0001-01"])
def test_an_export_from_year_zero_or_one_is_refused_with_400(client, omni, first):
    response = client.get(
        "/staff/exports/",
        {"from_month": first, "to_month": "2024-01", "file_format": "csv", "min_cell": 10},
    )

    assert response.status_code == 400
    assert "Enter a past month as YYYY-MM" in response.content.decode()
    with pytest.raises(CommandError):
        call_command(
            "export_stats", "--from", first, "--to", "2024-01", "--format", "csv",
            stdout=io.StringIO(),
        )  # fmt: skip


def test_an_export_of_more_than_ten_years_is_refused(client, omni):
    response = client.get(
        "/staff/exports/",
        {"from_month": "2000-01", "to_month": "2024-01", "file_format": "csv", "min_cell": 10},
    )

    assert response.status_code == 400
    assert "Export at most ten years (120 months) at a time." in response.content.decode()
    with pytest.raises(CommandError, match="at most 120 months"):
        call_command(
            "export_stats", "--from", "2000-01", "--to", "2024-01", "--format", "json",
            stdout=io.StringIO(),
        )  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "/admin/audit/auditentry/?action=%00",
        "/admin/audit/auditentry/?q=abc%00def",
        "/admin/auth/user/?is_active__exact=%00",
        "/staff/?state=%00",
        "/staff/audit/?actor=%00",
        "/staff/cases/GL-%00/",
        "/staff/reports/2024-%00/",
        "/status/?%00=1",
    ],
)
def test_a_nul_character_in_a_path_or_query_is_a_400(client, omni, url):
    record("account.test", actor="omni", target="someone")
    response = client.get(url)

    assert response.status_code == 400
    assert "It holds characters that no page of this site accepts." in response.content.decode()


STAFF_PARAMETERS = [
    "q", "page", "state", "category", "urgency", "assignee", "action", "actor", "target",
    "from_month", "to_month", "file_format", "min_cell", "o", "p", "e", "all", "_to_field",
    "_popup", "is_active__exact", "groups__id__exact", "next", "since", "until", "reference",
]  # fmt: skip
ODD_VALUES = [
    "", "0", "-1", "0000-01", "0001-01", "9999-12", "2024-13", "1e9", "99999999999999999999",
    "new", "mine", "csv", "x" * 500, "\x00", "%00", "../../etc", "1.5", "null", "[]",
]  # fmt: skip
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=30))
PARAMETERS = st.dictionaries(
    st.one_of(st.sampled_from(STAFF_PARAMETERS), st.text(min_size=1, max_size=10)),
    VALUES,
    max_size=4,
)
SEGMENTS = st.one_of(
    st.sampled_from(["0000-01", "0001-01", "9999-99", "2024-1", "GL-0000-0000", "", "."]),
    st.text(max_size=20),
)


def staff_get_paths() -> list[str]:
    return [path for path in site_paths() if path.startswith(("/staff/", "/admin/"))]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    index=st.integers(min_value=0),
    parameters=PARAMETERS,
    segment=SEGMENTS,
    where=st.sampled_from(["reports", "cases", "none"]),
)
def test_no_staff_page_answers_a_500_whatever_its_parameters(
    client, omni, index, parameters, segment, where
):
    case = CaseFactory()
    paths = staff_get_paths()
    path = paths[index % len(paths)].format(user_pk=omni.user.pk, reference=case.request.reference)
    if where != "none":
        path = f"/staff/{where}/{urllib.parse.quote(segment, safe='')}/"

    response = client.get(path, parameters)

    assert response.status_code < 500, (path, json.dumps(parameters))
