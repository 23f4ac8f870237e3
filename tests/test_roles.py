"""
Every staff URL, walked as anonymous, password-only, caseworker, coordinator and
admin. LOGIN: sent to sign in; VERIFY: sent to the second factor; a number: that
status; a path: redirected there.
"""

import pytest

from intake.services import post_requester_message
from tests.attachment_helpers import ready_cleaned
from tests.factories import CaseFactory
from tests.staffing import enter_password, make_staff, sign_in

LOGIN, VERIFY = "login", "verify"
PERSONAS = ("anonymous", "password_only", "caseworker", "coordinator", "admin")

# (method, url, expected outcome per persona, in the order of PERSONAS)
MATRIX = [
    ("get", "/staff/", [LOGIN, VERIFY, 200, "/staff/dashboard/", "/staff/accounts/"]),
    ("get", "/staff/cases/{ref}/", [LOGIN, VERIFY, 200, 403, 403]),
    ("post", "/staff/cases/{ref}/move/", [LOGIN, VERIFY, "/staff/cases/{ref}/", 403, 403]),
    ("post", "/staff/cases/{ref}/assign/", [LOGIN, VERIFY, "/staff/cases/{ref}/", 403, 403]),
    ("post", "/staff/cases/{ref}/notes/", [LOGIN, VERIFY, "/staff/cases/{ref}/", 403, 403]),
    ("get", "/staff/cases/{ref}/attachments/{uid}/", [LOGIN, VERIFY, 200, 403, 403]),
    ("get", "/staff/cases/{ref}/attachments/{uid}/thumbnail/", [LOGIN, VERIFY, 200, 403, 403]),
    ("get", "/staff/cases/{ref}/attachments/{uid}/download/", [LOGIN, VERIFY, 200, 403, 403]),
    ("get", "/staff/dashboard/", [LOGIN, VERIFY, 403, 200, 200]),
    ("get", "/staff/accounts/", [LOGIN, VERIFY, 403, 403, 200]),
    ("get", "/staff/accounts/new/", [LOGIN, VERIFY, 403, 403, 200]),
    # Without the confirmation page's token these show the confirmation page and change nothing.
    ("post", "/staff/accounts/{victim}/reset-device/", [LOGIN, VERIFY, 403, 403, 200]),
    ("post", "/staff/accounts/{victim}/new-password/", [LOGIN, VERIFY, 403, 403, 200]),
    ("post", "/staff/accounts/{victim}/deactivate/", [LOGIN, VERIFY, 403, 403, 200]),
    ("post", "/staff/accounts/{victim}/unlock/", [LOGIN, VERIFY, 403, 403, "/staff/accounts/"]),
    ("get", "/staff/audit/", [LOGIN, VERIFY, 403, 403, 200]),
    ("get", "/staff/security/", [LOGIN, VERIFY, 200, 200, 200]),
    ("post", "/staff/security/password/", [LOGIN, VERIFY, 400, 400, 400]),
    ("post", "/staff/security/backup-codes/", [LOGIN, VERIFY, 400, 400, 400]),
    ("get", "/staff/security/authenticator/", [LOGIN, VERIFY, 200, 200, 200]),
    (
        "get",
        "/staff/password/",
        [LOGIN, VERIFY, "/staff/", "/staff/dashboard/", "/staff/accounts/"],
    ),
    ("get", "/staff/lockdown/", [LOGIN, VERIFY, 403, 403, 200]),
    ("get", "/staff/exports/", [LOGIN, VERIFY, 403, 200, 200]),
    ("post", "/staff/exports/", [LOGIN, VERIFY, 403, 400, 400]),
    ("get", "/staff/reports/definitions/", [LOGIN, VERIFY, 403, 200, 200]),
    ("get", "/staff/dashboard/charts/categories.svg", [LOGIN, VERIFY, 403, 404, 404]),
    ("get", "/staff/reports/2024-01/", [LOGIN, VERIFY, 403, 404, 404]),
    # Without the confirmation box the form is shown again with an error.
    ("post", "/staff/lockdown/", [LOGIN, VERIFY, 403, 403, 400]),
    ("get", "/admin/", [LOGIN, VERIFY, 403, 403, 200]),
    ("get", "/admin/audit/auditentry/", [LOGIN, VERIFY, 403, 403, 200]),
]

CASES = [
    pytest.param(method, url, persona, expected[i], id=f"{persona}-{method}-{url}")
    for method, url, expected in MATRIX
    for i, persona in enumerate(PERSONAS)
]


def become(client, persona: str) -> None:
    if persona == "anonymous":
        return
    role = {"password_only": "caseworker"}.get(persona, persona)
    staff = make_staff(f"{persona}-person", role)
    if persona == "password_only":
        enter_password(client, staff.username)
    else:
        sign_in(client, staff)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "persona", "expected"), CASES)
def test_every_staff_url_for_every_persona(client, method, url, persona, expected):
    case = CaseFactory(request__narrative="narrative behind the door")
    victim = make_staff("victim", "caseworker")
    photo = post_requester_message(case.request, "", [ready_cleaned()]).attachments.get()
    values = {"ref": case.request.reference, "victim": victim.user.pk, "uid": photo.uid}
    become(client, persona)

    response = getattr(client, method)(url.format(**values))

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")
    elif expected == VERIFY:
        assert response.status_code == 302
        assert response["Location"] == "/staff/verify/"
    elif isinstance(expected, int):
        assert response.status_code == expected
    else:
        assert response.status_code == 302
        assert response["Location"] == expected.format(**values)
    if persona != "caseworker":
        assert b"narrative behind the door" not in response.content
