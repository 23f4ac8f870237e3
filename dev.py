#!/usr/bin/env python3
"""
Set-up and everyday commands, for a fresh machine with nothing but Python 3.11.

    python3.11 dev.py run     install into .venv, migrate SQLite, seed demo data, run the app
    python3.11 dev.py test    install into .venv with the test tools, run the whole test suite

Also: `lint` (ruff), `security` (check --deploy, bandit, pip-audit), `faults`
(the fault scenarios, needing PostgreSQL and redis-server), `bench NAME`
(a script under bench/), `manage ...` (manage.py in the virtualenv), `install
[--dev] [--refresh]` (only the virtualenv), `lock [--upgrade | --check]` (make
the lock files from pyproject.toml, or check that they agree with it).

Installs follow requirements.lock (the app) or requirements-dev.lock (the app
and the test tools), with every file's hash checked, so every machine gets the
same bytes; the virtualenv is refreshed when pyproject.toml or the lock
changes. uv, fetched from PyPI into .venv (its wheel checked against the lock's
hashes too), installs; pip does where uv cannot be had or fails
(DEV_INSTALLER=pip: pip only). The project itself is built with the locked
setuptools, without build isolation, so nothing unpinned is fetched for it.
Each step prints one line: what it does and how long it took.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
UV = VENV / "bin" / "uv"
# The app's dependencies (what `run` and the container image install), and the
# app's with the test tools (what `test` installs): exact versions and hashes.
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
LOCKED_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# pip run straight from the wheel that Python ships for ensurepip, without
# installing it: enough to fetch uv into a virtualenv made without pip.
PIP_FROM_WHEEL = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)"
)
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str, env: dict | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)  # noqa: S603 - our own commands
    if result.returncode != 0:
        sys.exit(result.returncode)


def run_step(title: str, command: list[str], env: dict | None = None, show: bool = False) -> bool:
    """
    One step on one line: what it does, then how long it took. The command's
    output is kept back: shown after that line with `show`, or when it fails
    (then False is returned, for the caller to try another way or stop).
    """
    print(f"==> {title} …", end="", flush=True)
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603 - our own commands
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )  # fmt: skip
        output, failed = result.stdout, result.returncode != 0
    except OSError as error:  # the program is missing or cannot run
        output, failed = f"{error}\n", True
    seconds = time.monotonic() - started
    if failed:
        print(f" failed after {seconds:.1f} s", flush=True)
        print("".join(f"    {line}\n" for line in output.splitlines()[-15:]), end="", flush=True)
        return False
    print(f" {seconds:.1f} s", flush=True)
    if show:
        print(output, end="", flush=True)
    return True


def first_way_that_works(ways: list[tuple[str, list[tuple[str, list[str]]]]]) -> str:
    """Try each way (its steps in turn) until one has every step succeed; its name."""
    for number, (name, steps) in enumerate(ways):
        if all(run_step(title, command) for title, command in steps):
            return name
        if number + 1 < len(ways):
            say(f"{name} did not work (see above); trying {ways[number + 1][0]} instead")
    sys.exit("Could not install the dependencies: see the messages above.")


def lock_for(extras: str) -> Path:
    return DEV_LOCK if "dev" in extras.split(",") else LOCK


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        found = LOCKED_LINE.match(line)
        if found:
            pins[found.group(1).lower().replace("_", "-")] = found.group(2)
    return pins


def locked_entry(lock: Path, name: str) -> str:
    """One package's lines of a lock (its pin and hashes), as a requirements file."""
    lines, inside = [], False
    for line in lock.read_text().splitlines():
        found = LOCKED_LINE.match(line)
        if found:
            inside = found.group(1).lower().replace("_", "-") == name
        if inside and not line.lstrip().startswith("#"):
            lines.append(line)
    return "\n".join(lines) + "\n"


def requirement_names(extras: str) -> list[str]:
    """The project's own dependencies (not theirs), as pyproject.toml names them."""
    import tomllib  # after the version check: new in Python 3.11

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in filter(None, extras.split(",")):
        wanted += project["optional-dependencies"][extra]
    names = []
    for requirement in wanted:
        name = requirement
        for mark in "[<>=!~; ":
            name = name.split(mark)[0]
        names.append(name)
    return names


def bundled_pip_wheel() -> str | None:
    """The pip wheel Python keeps for ensurepip (in the standard library, or where
    a distribution puts it instead)."""
    import ensurepip

    places = [Path(ensurepip.__file__).parent / "_bundled"]
    if sysconfig.get_config_var("WHEEL_PKG_DIR"):
        places.append(Path(sysconfig.get_config_var("WHEEL_PKG_DIR")))
    for place in places:
        wheels = sorted(glob.glob(str(place / "pip-*.whl")))
        if wheels:
            return wheels[-1]
    return None


def has_pip() -> bool:
    return bool(glob.glob(str(VENV / "lib" / "python3*" / "site-packages" / "pip")))


def own_pip_reaches_venvs() -> bool:
    """Whether the Python running dev.py has a pip that installs into another
    environment (`pip --python`, pip 22.3 and later)."""
    from importlib import metadata

    try:
        version = metadata.version("pip")
    except metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (22, 3)


def pip_in_venv() -> list[str] | None:
    """How to run pip into .venv: its own; else the pip of the Python running this
    (already compiled, so it starts fastest); else the wheel ensurepip installs."""
    if has_pip():
        return [str(PYTHON), "-m", "pip"]
    if Path(sys.executable).resolve() != PYTHON.resolve() and own_pip_reaches_venvs():
        return [sys.executable, "-m", "pip", "--python", str(PYTHON)]
    wheel = bundled_pip_wheel()
    return [str(PYTHON), "-c", PIP_FROM_WHEEL, wheel] if wheel else None


def uv_is_installed(version: str | None) -> bool:
    try:
        answer = subprocess.run(  # noqa: S603 - our own virtualenv
            [str(UV), "--version"], capture_output=True, text=True
        ).stdout.split()  # "uv 0.13.9"
    except OSError:
        return False
    return answer[1:2] == [version]


def uv_steps(lock: Path, packages: str) -> list[tuple[str, list[str]]] | None:
    """uv from PyPI into .venv (unless there already; its wheel checked against the
    lock's hashes), then the install; None if there is no pip to fetch uv with."""
    steps = []
    version = locked_versions(lock).get("uv")
    if not uv_is_installed(version):
        pip = pip_in_venv()
        if pip is None:
            return None
        requirement = VENV / "uv-requirement.txt"
        requirement.write_text(locked_entry(lock, "uv"))
        command = [*pip, "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
        command += ["--require-hashes", "-r", str(requirement)]
        title = f"installing uv {version} from PyPI, a faster installer (hash checked)"
        steps.append((title, command))
    uv = [str(UV), "pip", "install", "--python", str(PYTHON)]
    steps.append((f"installing {packages} with uv", [*uv, "--require-hashes", "-r", str(lock)]))
    steps.append((PROJECT_STEP, [*uv, "--no-deps", "--no-build-isolation", "-e", "."]))
    return steps


PROJECT_STEP = "installing the project itself, built with the locked setuptools"


def pip_steps(lock: Path, packages: str) -> list[tuple[str, list[str]]]:
    steps = []
    if not has_pip():
        steps.append(("adding pip to .venv", [str(PYTHON), "-m", "ensurepip", "--upgrade"]))
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps.append((f"installing {packages} with pip", [*pip, "--require-hashes", "-r", str(lock)]))
    steps.append((PROJECT_STEP, [*pip, "--no-deps", "--no-build-isolation", "-e", "."]))
    return steps


def ensure_venv(extras: str = "", refresh: bool = False) -> bool:
    """
    Create .venv and install the project, skipping work already done. uv (from
    PyPI, into .venv) installs; where it cannot be had or fails (offline, no
    wheel for this platform), pip does, more slowly. DEV_INSTALLER=pip skips uv.
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("Python 3.11 or newer is needed: run this with python3.11.")
    stamp_file = VENV / f".installed{('-' + extras) if extras else ''}"
    lock = lock_for(extras)
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + lock.read_bytes() + extras.encode()
    ).hexdigest()
    if not refresh and stamp_file.exists() and stamp_file.read_text() == digest:
        return False
    if not PYTHON.exists():
        print("==> creating the virtualenv in .venv …", end="", flush=True)
        started = time.monotonic()
        venv.EnvBuilder(with_pip=False).create(VENV)
        print(f" {time.monotonic() - started:.1f} s", flush=True)
    names = requirement_names(extras)
    packages = (
        f"{len(names)} packages and what they need, at the versions and hashes of {lock.name} "
        f"({', '.join(names)})"
    )
    ways = [("pip", pip_steps(lock, packages))]
    with_uv = uv_steps(lock, packages) if os.environ.get("DEV_INSTALLER") != "pip" else None
    if with_uv:
        ways.insert(0, ("uv", with_uv))
    first_way_that_works(ways)
    stamp_file.write_text(digest)
    return True


def development_env() -> dict:
    env = dict(os.environ)
    # The embedded default: development keys are accepted only with DEBUG on.
    env.setdefault("DEBUG", "1")
    return env


def manage(*args: str, env: dict | None = None) -> None:
    run(str(PYTHON), "manage.py", *args, env=env or development_env())


def manage_step(title: str, *args: str, show: bool = False) -> None:
    if not run_step(title, [str(PYTHON), "manage.py", *args], development_env(), show=show):
        sys.exit(1)


def command_run(args: list[str]) -> None:
    ensure_venv()
    manage_step("migrating the database", "migrate", "--verbosity", "0")
    manage_step("preparing demo data and demo accounts", "demo_setup", show=True)
    address = args[0] if args else "127.0.0.1:8000"
    say(
        f"ready after {time.monotonic() - STARTED:.0f} s; starting the app at "
        f"http://{address}/ (Ctrl+C stops it)"
    )
    manage("runserver", address)


def command_install(args: list[str]) -> None:
    """Create or update .venv (`--dev`: with the test tools; `--refresh`: check every
    package again even if nothing changed since the last install)."""
    if ensure_venv("dev" if "--dev" in args else "", refresh="--refresh" in args):
        say(f"installed in {time.monotonic() - STARTED:.1f} s")
    else:
        say(".venv is up to date (--refresh checks every package again)")


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
    run(str(PYTHON), "tests/dependency_audit.py", str(DEV_LOCK))


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


def build_requirements() -> list[str]:
    """What builds the project ([build-system] requires, pinned exactly) and uv."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = list(project["build-system"]["requires"])
    loose = [requirement for requirement in wanted if "==" not in requirement]
    if loose:
        sys.exit(f"pyproject.toml: pin the build backend exactly, not {', '.join(loose)}")
    return [*wanted, f"uv=={locked_versions(DEV_LOCK)['uv']}"]


def compile_lock(target: Path, extras: list[str], upgrade: bool) -> bool:
    """uv pip compile: pyproject.toml (and the build requirements) into `target`,
    with hashes, keeping the versions already in `target` unless `upgrade`."""
    build = VENV / "build-requirements.in"
    build.write_text("\n".join(build_requirements()) + "\n")
    command = [
        str(UV), "pip", "compile", "pyproject.toml", str(build), *extras, "--generate-hashes",
        "--python-version", "3.11", "--universal", "--no-header", "--quiet",
        "--output-file", str(target),
    ]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    return run_step(f"writing {target.name} from pyproject.toml", command)


def command_lock(args: list[str]) -> None:
    """
    Make requirements.lock and requirements-dev.lock from pyproject.toml (every
    version and hash; the versions already locked are kept unless --upgrade).
    With --check, make them aside and fail if they differ from the committed
    ones: pyproject.toml and the locks must agree (CI runs this).
    """
    if not UV.exists():
        ensure_venv("dev")
    check, upgrade = "--check" in args, "--upgrade" in args
    differ = []
    for lock, extras in ((LOCK, []), (DEV_LOCK, ["--extra", "dev"])):
        target = lock
        if check:
            target = VENV / f"check-{lock.name}"
            shutil.copyfile(lock, target)
        if not compile_lock(target, extras, upgrade):
            sys.exit(1)
        if check and locked_versions(target) != locked_versions(lock):
            differ.append(lock.name)
    if differ:
        sys.exit(
            f"{', '.join(differ)} and pyproject.toml disagree: run python dev.py lock "
            "and commit the result."
        )
    say("the lock files agree with pyproject.toml" if check else "lock files written")


COMMANDS = {
    "run": command_run,
    "install": command_install,
    "lock": command_lock,
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
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        sys.exit(130)
