"""The audit log page in words: labels for every code, readable details, a list of actions."""

import ast
import re
from pathlib import Path

import pytest

from audit.labels import ACTIONS, DETAIL_KEYS
from audit.models import AuditEntry
from audit.services import record
from audit.signals import ADMIN_ACTIONS
from encryption.rotation import END_ACTION, START_ACTION
from tests.staffing import sign_in

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "audit", "cases", "core", "encryption", "intake", "reports", "telegram_bot")
CONSTANTS = {"START_ACTION": START_ACTION, "END_ACTION": END_ACTION}


def written_by_the_application() -> tuple[set[str], set[str]]:
    """Every action code and detail key the application's code passes to the log."""
    actions, keys = {"admin.action", *ADMIN_ACTIONS.values()}, set()
    for path in (p for app in APPS for p in (ROOT / app).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None)
            if not isinstance(node, ast.Call) or getattr(name, "id", None) not in (
                "record", "record_many",
            ):  # fmt: skip
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant):
                actions.add(first.value)
            elif isinstance(first, ast.Name) and first.id in CONSTANTS:
                actions.add(CONSTANTS[first.id])
            keys |= {kw.arg for kw in node.keywords if kw.arg not in (None, "actor", "target")}
    return actions, keys


def test_every_code_and_detail_the_application_writes_has_words():
    actions, keys = written_by_the_application()

    assert len(actions) > 40  # the scan found the calls
    assert sorted(actions - set(ACTIONS)) == []
    assert sorted(keys - set(DETAIL_KEYS)) == []


@pytest.mark.django_db
def test_the_log_shows_actions_and_details_in_the_readers_language(client, dave):
    sign_in(client, dave)
    record("case.move", actor="alice", target="GL-AAAA-AAAA", from_state="new", to_state="triaged")

    english = client.get("/staff/audit/?action=case.move").content.decode()
    client.cookies["django_language"] = "ru"
    russian = client.get("/staff/audit/?action=case.move").content.decode()

    assert "Case moved" in english and "from: New" in english and "to: Triaged" in english
    assert "Дело перемещено" in russian and "из: Новое" in russian
    assert "from_state=new" not in english + russian
    assert AuditEntry.objects.get(target="GL-AAAA-AAAA").action == "case.move"  # stored as is


@pytest.mark.django_db
def test_admins_filter_by_several_actions_or_a_whole_group(client, dave):
    sign_in(client, dave)
    record("case.view", actor="alice", target="GL-VIEW-0001")
    record("case.note", actor="alice", target="GL-NOTE-0001")
    record("stats.export", actor="carol", target="", format="csv")

    several = client.get("/staff/audit/?action=case.view&action=stats.export").content.decode()
    group = client.get("/staff/audit/?action=case.*").content.decode()

    assert "GL-VIEW-0001" in several and "Statistics exported" in several
    assert "GL-NOTE-0001" not in several
    assert "GL-VIEW-0001" in group and "GL-NOTE-0001" in group
    assert "Statistics exported" not in group.split("<tbody>")[1]


@pytest.mark.django_db
def test_the_action_filter_is_a_list_that_works_without_javascript(client, dave):
    sign_in(client, dave)

    page = client.get("/staff/audit/").content.decode()
    made_up = client.get("/staff/audit/?action=case.delete_everything")

    # Checkboxes in a fieldset per group, folded in a <details> (no 80-line select).
    assert "<select" not in page.split('class="filters"')[1].split("</form>")[0]
    assert '<details class="field action-filter">' in page
    assert '<fieldset class="action-group"><legend>Cases</legend>' in page
    assert re.search(
        r'<input type="checkbox" name="action" value="case\.\*"[^>]*>\s*All: Cases', page
    )
    chosen = client.get("/staff/audit/?action=case.*&action=stats.export").content.decode()
    assert '<details class="field action-filter" open>' in chosen and "(2 chosen)" in chosen
    assert re.search(r'value="case\.\*"[^>]*checked', chosen)
    assert made_up.status_code == 200
    assert "is not one of the available choices" in made_up.content.decode()
