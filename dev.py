#!/usr/bin/env python3
"""
Set-up and everyday commands, for a fresh machine with nothing but Python 3.11.

    python3.11 dev.py run     install into .venv, migrate SQLite, seed demo data, run the app
    python3.11 dev.py test    install into .venv with the test tools, run the whole test suite

Also: `lint` (ruff), `security` (check --deploy, bandit, pip-audit), `faults`
(the fault scenarios, needing PostgreSQL and redis-server), `bench NAME`
(a script under bench/), `manage ...` (manage.py in the virtualenv). Installs follow
requirements.lock, so every machine gets the same versions; the virtualenv is
refreshed when pyproject.toml or the lock changes.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str, env: dict | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)  # noqa: S603 - our own commands
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(extras: str = "") -> None:
    """Create .venv and install the project, skipping work already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("Python 3.11 or newer is needed: run this with python3.11.")
    if not PYTHON.exists():
        say("creating the virtualenv in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp_file = VENV / f".installed{('-' + extras) if extras else ''}"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes() + extras.encode()
    ).hexdigest()
    if stamp_file.exists() and stamp_file.read_text() == digest:
        return
    say("installing dependencies (pinned by requirements.lock)")
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "-c", str(LOCK), "-e", target)
    stamp_file.write_text(digest)


def development_env() -> dict:
    env = dict(os.environ)
    # The embedded default: development keys are accepted only with DEBUG on.
    env.setdefault("DEBUG", "1")
    return env


def manage(*args: str, env: dict | None = None) -> None:
    run(str(PYTHON), "manage.py", *args, env=env or development_env())


def command_run(args: list[str]) -> None:
    ensure_venv()
    env = development_env()
    say("migrating the database")
    manage("migrate", "--verbosity", "0", env=env)
    say("preparing demo data and demo accounts")
    manage("demo_setup", env=env)
    address = args[0] if args else "127.0.0.1:8000"
    say(f"starting the app at http://{address}/ (Ctrl+C stops it)")
    manage("runserver", address, env=env)


LOGS = ROOT / "test-artifacts" / "logs"


def command_test(args: list[str]) -> None:
    ensure_venv("dev")
    env = development_env()
    # Every process of the run appends its log lines here; after a full run the
    # log scan checks that no value the tests encrypted reached any of them.
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    env["LOG_FILE"] = str(LOGS / "app.log")
    run(str(PYTHON), "-m", "pytest", *args, env=env)
    if not args:
        run(str(PYTHON), "tests/log_scan.py", str(LOGS))


def command_lint(args: list[str]) -> None:
    ensure_venv("dev")
    run(str(VENV / "bin" / "ruff"), "check", ".", *args)
    run(str(VENV / "bin" / "ruff"), "format", "--check", ".")


def command_security(args: list[str]) -> None:
    """The security scans of CI: deploy checks, bandit, pip-audit (ruff is `lint`)."""
    ensure_venv("dev")
    import secrets

    production = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "tropa.example.org",
    }
    say("manage.py check --deploy under production settings")
    run(str(PYTHON), "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production)
    say("bandit: no medium or high finding (reviewed exceptions carry # nosec with a reason)")
    bandit = subprocess.run(  # noqa: S603 - our own tool on our own code
        [
            str(VENV / "bin" / "bandit"), "-q", "-r", *APP_PACKAGES,
            "--severity-level", "medium", "--confidence-level", "low",
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    # bandit 1.9 warns "nosec encountered, but no failed test" for a reviewed
    # finding reported on another line of the same statement; that is noise.
    noise = "but no failed test"
    print("".join(line for line in bandit.stderr.splitlines(True) if noise not in line), end="")
    print(bandit.stdout, end="")
    if bandit.returncode != 0:
        sys.exit(bandit.returncode)
    print("bandit: no medium or high finding")
    say("pip-audit: the locked dependencies against known vulnerabilities")
    run(str(PYTHON), "tests/dependency_audit.py", str(LOCK))


def command_faults(args: list[str]) -> None:
    """Fault scenarios (bench/faults/): worker killed, Redis down, PostgreSQL restart."""
    ensure_venv("dev")
    run(str(PYTHON), "-m", "bench.faults.run_all", *args, env=development_env())


APP_PACKAGES = (
    "config", "core", "encryption", "audit", "accounts", "intake", "cases", "reports",
    "telegram_bot",
)  # fmt: skip


def command_bench(args: list[str]) -> None:
    ensure_venv("dev")
    if not args:
        sys.exit("usage: dev.py bench NAME [args]   (NAME: a script in bench/, e.g. import_bench)")
    script = ROOT / "bench" / f"{args[0].removesuffix('.py')}.py"
    run(str(PYTHON), str(script), *args[1:], env=development_env())


def command_manage(args: list[str]) -> None:
    ensure_venv()
    manage(*args)


COMMANDS = {
    "run": command_run,
    "test": command_test,
    "lint": command_lint,
    "security": command_security,
    "faults": command_faults,
    "bench": command_bench,
    "manage": command_manage,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
