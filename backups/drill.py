"""
The restore drill CI runs (`python dev.py drill`): a backup is proven only by restoring it.

Every step is a `manage.py` command run as an operator would run it, on a
database of the drill's own (`<name>_drill_<random>` beside the database
DATABASE_URL names, on the same PostgreSQL server, or a SQLite file in a temporary folder):

 1. migrate; demo data (a month), demo accounts, the reports; a signing
    key, a checkpoint; an age identity whose public half is the recipient;
 2. the figures before: every stored report, every report rebuilt, the audit head;
 3. `backup`; then a request submitted after it, which `restore_check
    --compare-live` must report as missing (so the check can fail);
 4. the database destroyed (dropped, or its file deleted) and created again
    empty; `restore_backup` into it; `migrate --check`;
 5. `verify_audit_log --checkpoints`, the figures compared with step 2 (every
    report identical), and the demo caseworker signs in (password and a
    backup code) and opens a case.

Exits 1 naming the step that failed. The drill's database and files are
removed at the end, whatever happened.
"""

import json
import os
import re
import secrets
import subprocess  # nosec B404: our own manage.py
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.monotonic()


class DrillFailed(Exception):
    pass


def say(text: str) -> None:
    print(f"drill [{time.monotonic() - STARTED:5.1f} s] {text}", flush=True)


def manage(env: dict, *args: str, stdin: str = "", expect_failure: bool = False) -> str:
    result = subprocess.run(  # noqa: S603  # nosec B603: our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if (result.returncode != 0) != expect_failure:
        raise DrillFailed(
            f"manage.py {args[0]} {'succeeded' if result.returncode == 0 else 'failed'}"
            f" (expected the opposite):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout + result.stderr


def in_django(env: dict, call: str) -> str:
    return manage(env, "shell", "-c", f"from backups import drill; drill.{call}")


# --- run inside Django (manage.py shell) ------------------------------------------


def figures() -> None:
    """Print what must be identical after the restore."""
    from audit.models import ChainHead
    from cases.models import Case
    from reports.models import MonthlyReport
    from reports.services import rebuild_reports

    stored = {r.month.isoformat(): r.data for r in MonthlyReport.objects.order_by("month")}
    rebuilt = rebuild_reports([r.month for _month, r in _months()])
    head = ChainHead.objects.first()
    print(
        "FIGURES "
        + json.dumps(
            {
                "stored": stored,
                "rebuilt": rebuilt,
                "cases": Case.objects.count(),
                "audit": [head.seq, head.last_hash] if head else None,
            },
            sort_keys=True,
            default=str,
        )
    )


def _months():
    from reports.models import MonthlyReport

    return [(r.month.isoformat(), r) for r in MonthlyReport.objects.order_by("month")]


def late_request() -> None:
    """A request submitted after the backup (the factory submits it as the form does)."""
    from tests.factories import CaseFactory

    CaseFactory()


def caseworker_opens_a_case(username: str, password: str, code: str) -> None:
    from django.test import Client

    from cases.models import Case

    client = Client(HTTP_HOST="localhost")
    signed = client.post("/staff/login/", {"username": username, "password": password})
    verified = client.post("/staff/verify/", {"code": code})
    reference = Case.objects.order_by("-pk").first().request.reference
    page = client.get(f"/staff/cases/{reference.replace('/', '~')}/")
    status = [signed.status_code, verified.status_code, page.status_code]
    print(f"SIGNIN {status} {reference in page.content.decode()}")


# --- the drill ------------------------------------------------------------------


def _figures(env: dict) -> dict:
    out = in_django(env, "figures()")
    return json.loads(out.split("FIGURES ", 1)[1].splitlines()[0])


def _databases(base_url: str, folder: Path):
    """The drill's database URL, and how to create and destroy it."""
    if base_url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parsed = urlparse(base_url)
        # Named after the configured database, never that database itself.
        name = f"{parsed.path.strip('/') or 'tropa'}_drill_{secrets.token_hex(4)}"
        admin = urlunparse(parsed._replace(path="/postgres"))

        def sql(statement: str) -> None:
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(statement)

        return (
            urlunparse(parsed._replace(path=f"/{name}")),
            lambda: sql(f'CREATE DATABASE "{name}"'),
            lambda: sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
        )
    path = folder / "drill.sqlite3"

    def remove() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return f"sqlite:///{path}", lambda: None, remove


def drill(folder: Path) -> None:
    import pyrage

    url, create, destroy = _databases(os.environ.get("DATABASE_URL", ""), folder)
    identity = pyrage.x25519.Identity.generate()
    (folder / "recipients.txt").write_text(f"{identity.to_public()}\n")
    (folder / "backups").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DATABASE_URL": url,
        "DEBUG": "1",
        "AUDIT_SIGNING_KEY_FILE": str(folder / "signing.pem"),
        "AUDIT_CHECKPOINT_DIR": str(folder / "checkpoints"),
        "BACKUP_RECIPIENTS_FILE": str(folder / "recipients.txt"),
        "BACKUP_DIR": str(folder / "backups"),
    }
    create()
    try:
        say(f"database {url.rsplit('/', 1)[1]}: migrate, demo data, reports")
        manage(env, "migrate", "--verbosity", "0")
        out = manage(env, "make_audit_signing_key", str(folder / "signing.pem"))
        env["AUDIT_CHECKPOINT_PUBLIC_KEYS"] = out.split("Public key: ")[1].split()[0]
        accounts = manage(env, "demo_setup", "--months", "1")
        found = re.search(
            r"user demo-caseworker\s+password (\S+)\s+\d+ backup codes: (\S+)", accounts
        )
        if not found:
            raise DrillFailed("demo_setup printed no caseworker password and backup code")
        password, code = found.groups()
        manage(env, "make_audit_checkpoint")
        before = _figures(env)

        say("backup")
        out = manage(env, "backup")
        archive = out.split("Backup: ", 1)[1].splitlines()[0].strip()
        key = f"{identity}\n"

        say("a request after the backup: restore_check --compare-live must name it")
        in_django(env, "late_request()")
        out = manage(
            env, "restore_check", archive, "--compare-live", stdin=key, expect_failure=True
        )
        if "table intake_helprequest:" not in out or "missing from it" not in out:
            raise DrillFailed(f"the request made after the backup was not reported:\n{out}")

        say("the database destroyed, created again empty, the backup restored into it")
        destroy()
        create()
        manage(env, "restore_backup", archive, stdin=key)
        manage(env, "migrate", "--check")

        say("audit chain and checkpoints, reports, a caseworker's sign-in")
        out = manage(env, "verify_audit_log", "--checkpoints", str(folder / "checkpoints"))
        after = _figures(env)
        if after != before:
            differing = sorted(k for k in before if before[k] != after.get(k))
            raise DrillFailed(f"the restored figures differ: {', '.join(differing)}")
        out = in_django(env, f"caseworker_opens_a_case('demo-caseworker', {password!r}, {code!r})")
        if "SIGNIN [302, 302, 200] True" not in out:
            raise DrillFailed(f"the caseworker could not sign in and open a case: {out[-500:]}")
        months = len(before["stored"])
        say(
            f"passed: {before['cases']} cases, {months} month(s) of reports identical, "
            f"audit head #{before['audit'][0]} verified against the checkpoints"
        )
    finally:
        destroy()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tropa-drill-") as folder:
        try:
            drill(Path(folder))
        except DrillFailed as failure:
            say(f"FAILED: {failure}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
