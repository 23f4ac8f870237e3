"""
IDs from other roles (issue 21): every URL of the site that names an object
(a case reference, an account, a template, a bot token, a month, a chart, an
admin object) is enumerated from the URLconf, so that a new one is never
silently missed, and tried with a real id, by GET and by POST, as each role
that may not touch it. Each answer is a refusal (403 or 404; a caseworker
waiting for access is sent to the page that says so, and a non-admin to the
admin's sign-in), and nothing stored changes. The ids that forms carry (bulk
selections, held requests, an assignee, a grant's caseworker) are tried too.

Reply templates, notes and follow-ups belong to the organisation's
caseworkers together, not to one of them: there is no per-caseworker
ownership to cross, so the line drawn is between roles (and access).
"""

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEntry
from cases.models import ReplyTemplate
from cases.services import hold_during_flood
from intake.services import create_bot_token, post_requester_message
from tests.attachment_helpers import ready_cleaned
from tests.factories import CaseFactory
from tests.staffing import make_staff, sign_in

pytestmark = pytest.mark.django_db

# Who may use each URL, by the longest matching name prefix. A URL with an id
# that matches none of these fails the test until someone says who may use it.
ALLOWED = {
    "cases:": {"caseworker"},
    "accounts:staff_": {"admin"},
    "accounts:access_": {"caseworker"},
    "reports:regenerate": {"admin"},
    "reports:": {"coordinator", "admin"},
    "bots:": {"admin"},
    "admin:": {"admin"},
}
ROLES = ("caseworker", "waiting", "coordinator", "admin")
# What a refused POST carries: everything a valid form of any of these pages
# would, so that nothing fails for want of a field.
POSTED = {
    "body": "Write back with your name and unit 5521",
    "role": "admin",
    "to_state": "rejected",
    "expected_state": "new",
    "outcome": "",
    "assignee": "me",
    "compared": "yes",
    "title": "Taken over",
    "language": "ru",
    "follow_up_on": "2031-01-15",
    "confirmed": "yes",
    "confirm": "on",
}
# Tables a refused request may write to: the log of the refusal and sessions.
BOOKKEEPING = {"audit.AuditEntry", "audit.ChainHead", "sessions.Session"}


def routes_with_ids() -> list[tuple[str, str]]:
    """(name, route) of every URL pattern that takes an object id."""
    found = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                walk(pattern.url_patterns, text, inner)
            # The admin's regular expressions (an app's index, its catch-all)
            # take an app's name or any path, not an object id.
            elif isinstance(pattern, URLPattern) and "<" in text and "(?P" not in text:
                found.append((f"{namespace}:{pattern.name or ''}", text))

    walk(get_resolver().url_patterns, "", "")
    return found


def allowed(name: str) -> set[str]:
    matches = [prefix for prefix in ALLOWED if name.startswith(prefix)]
    assert matches, f"{name}: say who may use it in ALLOWED"
    return ALLOWED[max(matches, key=len)]


def stored_rows() -> dict[str, list[tuple]]:
    rows = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.label in BOOKKEEPING or not model._meta.managed:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 (a model's table)
            rows[model._meta.label] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in cursor.fetchall()
            ]
    return rows


@pytest.fixture
def ids(alice, bob):
    """A real object behind every kind of id."""
    case = CaseFactory()
    writer = Client()
    sign_in(writer, alice)
    writer.post(
        "/staff/templates/new/",
        {"title": "First answer", "language": "ru", "body": "We read your request."},
    )
    bot_pk = create_bot_token("a-bot", "telegram", actor=alice.user)[0].pk
    photo = post_requester_message(case.request, "", [ready_cleaned()]).attachments.get()
    return {
        "reference": case.request.reference,
        "uid": photo.uid,
        "pk": None,  # by route: an account, a template or a bot token (below)
        "account": bob.user.pk,
        "template": ReplyTemplate.objects.get().pk,
        "bot": bot_pk,
        "month": "2026-11",
        "name": "categories",
        "file_format": "svg",
        "object_id": bob.user.pk,
        "content_type_id": 4,
    }


def path_for(name: str, route: str, ids: dict) -> str:
    kind = {"cases:": "template", "bots:": "bot"}.get(name[: name.index(":") + 1], "account")

    def value(match: re.Match) -> str:
        param = match.group(1)
        assert param in ids, f"{name}: no sample id for <{param}>"
        return str(ids[kind] if param == "pk" else ids[param])

    path = re.sub(r"<(?:\w+:)?(\w+)>", value, route)
    if name == "admin:" and "auditentry" in route:
        path = path.replace(str(ids["object_id"]), str(AuditEntry.objects.first().pk))
    return "/" + path


@pytest.fixture
def people(alice, carol, dave):
    clients = {}
    for role, staff in {
        "caseworker": alice,
        "waiting": make_staff("nina", "caseworker", with_access=False),
        "coordinator": carol,
        "admin": dave,
    }.items():
        client = Client()
        sign_in(client, staff)
        clients[role] = client
    return clients


def refused(response, role: str, method: str) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code == 405:
        return True  # the other method is tried too, and must be refused for its role
    where = response.get("Location", "")
    if role == "waiting" and method == "get":
        return response.status_code == 302 and where == "/staff/access/"
    return response.status_code == 302 and where.startswith("/admin/login/")


def test_every_url_with_an_id_refuses_the_roles_that_may_not_touch_it(ids, people):
    routes = routes_with_ids()
    assert {"cases:reply", "cases:template_edit", "accounts:staff_role", "bots:revoke"} <= {
        name for name, _route in routes
    }
    before = stored_rows()
    tried = 0

    for name, route in routes:
        path = path_for(name, route, ids)
        for role in ROLES:
            may = allowed(name)
            if role in may or (role == "waiting" and "caseworker" not in may):
                continue  # waiting is tried where caseworkers may go
            answers = set()
            for method in ("get", "post"):
                response = getattr(people[role], method)(path, POSTED if method == "post" else None)
                assert refused(response, role, method), (role, method, path, response.status_code)
                answers.add(response.status_code)
                tried += 1
            assert answers != {405}, (role, path)

    assert stored_rows() == before
    assert tried > 100


def test_ids_inside_forms_are_refused_to_other_roles(ids, people, bob, dave):
    held = CaseFactory()
    hold_during_flood(held, "flood-a")
    forms = [
        ("/staff/bulk/", {"selected": [ids["reference"]], "action": "triage"}),
        ("/staff/held/release/", {"scope": "case", "reference": held.request.reference}),
        ("/staff/held/reject/", {"scope": "case", "reference": held.request.reference}),
    ]
    before = stored_rows()

    for role in ("waiting", "coordinator", "admin"):
        for path, data in forms:
            assert people[role].post(path, data).status_code == 403, (role, path)
    # A caseworker may assign, but only to a caseworker; may grant, but only to one.
    people["caseworker"].post(
        f"/staff/cases/{ids['reference']}/assign/", {"assignee": str(dave.user.pk)}
    )
    grant = people["caseworker"].post(f"/staff/access/{dave.user.pk}/grant/", {"compared": "yes"})

    assert grant.status_code == 404
    assert stored_rows() == before
