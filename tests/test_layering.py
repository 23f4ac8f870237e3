"""The ground floor imports no domain app (../shared/STYLE.md, "Where the house stands").

core/, encryption/ and audit/ are read by every app; if they reached up into the
domain, a change to a case or a report could break key handling or the audit log.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUND = ("core", "encryption", "audit")
DOMAIN = {"intake", "cases", "reports", "accounts", "telegram_bot", "backups"}
# Imports that stand today, each with its reason; anything else fails.
KNOWN = {
    # The audit page is a staff page: it needs the staff door and the roles.
    ("audit/views.py", "accounts"): "the audit page's staff_required door and roles",
    # A checkpoint records which role signed it (the admin role's vocabulary).
    ("audit/checkpoints.py", "accounts"): "checkpoints are made by admins (Role)",
}


def domain_imports(source: str) -> set[str]:
    """The domain apps a module's source imports, at any depth (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & DOMAIN
    return found


def ground_floor_reaches_up() -> list[tuple[str, str]]:
    reaching = []
    for app in GROUND:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for domain in sorted(domain_imports(path.read_text(encoding="utf-8"))):
                if (relative, domain) not in KNOWN:
                    reaching.append((relative, domain))
    return reaching


def test_the_ground_floor_imports_no_domain_app():
    assert ground_floor_reaches_up() == []


def test_every_known_exception_still_stands():
    """A known import that went away is taken off the list, not left as a pass."""
    for relative, domain in KNOWN:
        assert domain in domain_imports((ROOT / relative).read_text(encoding="utf-8"))


def test_the_scanner_finds_imports_of_every_shape():
    source = (
        "import os\n"
        "import cases.models\n"
        "from intake.vocabulary import Channel\n"
        "from . import sibling\n"
        "from core.clock import now\n"
        "def late():\n"
        "    from reports import services\n"
        "    import telegram_bot as bot, backups.tasks\n"
    )
    assert domain_imports(source) == {"cases", "intake", "reports", "telegram_bot", "backups"}
    assert domain_imports("import os\nfrom core import clock\nimport accountsy\n") == set()


def test_a_planted_import_in_the_ground_floor_fails(tmp_path, monkeypatch):
    import tests.test_layering as layering

    for app in GROUND:
        (tmp_path / app).mkdir()
    for relative, _ in KNOWN:
        (tmp_path / relative).write_text((ROOT / relative).read_text(encoding="utf-8"))
    monkeypatch.setattr(layering, "ROOT", tmp_path)
    assert layering.ground_floor_reaches_up() == []
    (tmp_path / "core" / "planted.py").write_text("def f():\n    from cases.models import Case\n")
    assert layering.ground_floor_reaches_up() == [("core/planted.py", "cases")]
