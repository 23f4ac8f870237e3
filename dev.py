#!/usr/bin/env python3
"""
Set-up and everyday commands, for a fresh machine with nothing but Python 3.11.

    python3.11 dev.py run     install into .venv, migrate SQLite, seed demo data, run the app
                              (--fresh: renew the demo authenticators, kept by default)
    python3.11 dev.py test    install into .venv with the test tools, run the whole test suite

Also: `lint` (ruff), `security` (check --deploy, bandit, pip-audit), `faults`
(the fault scenarios, needing PostgreSQL and redis-server), `drill` (back up,
destroy, restore and check a database of its own: on the PostgreSQL server
DATABASE_URL names, else SQLite), `bench NAME`
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
    """Migrate, prepare the demo and serve (`--fresh`: new demo authenticators too;
    by default they are kept between starts, so a phone that scanned them still works)."""
    ensure_venv()
    fresh = "--fresh" in args
    args = [arg for arg in args if arg != "--fresh"]
    manage_step("migrating the database", "migrate", "--verbosity", "0")
    manage_step(
        "preparing demo data and demo accounts",
        "demo_setup",
        *(["--fresh"] if fresh else []),
        show=True,
    )
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


def command_drill(args: list[str]) -> None:
    """The restore drill (backups/drill.py): back up, destroy, restore, check."""
    ensure_venv("dev")
    run(str(PYTHON), "-m", "backups.drill", *args)


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


MUTATION_CONFIG = ROOT / "tests" / "mutation.toml"
MUTATION_BASELINE = ROOT / "tests" / "mutation-baseline.txt"


def mutant_key(
    module: str, function: str | None, operator: str, diff: str, source: str = "", line: int = 0
) -> tuple:
    """
    How a mutant is named in the baseline: its module, the function around it, the
    operator, and the source line before and after (blanks squeezed). No line
    number: an edit elsewhere in the module leaves the name as it was. Where the
    module has the same line more than once (two `return False`), the function
    gets `#2`, `#3`... for the second, third such line, counted from the top.
    """
    import re

    lines = [" ".join(text.split()) for text in source.splitlines()]
    if 0 < line <= len(lines) and lines[line - 1].startswith("@"):
        # A decorator is named by what it decorates (cosmic-ray names the module).
        defined = (re.match(r"(?:async )?(?:def|class) (\w+)", text) for text in lines[line:])
        function = next(filter(None, defined)).group(1)
    elif 0 < line <= len(lines) and lines[: line - 1].count(lines[line - 1]):
        function = f"{function or '<module>'}#{lines[: line - 1].count(lines[line - 1]) + 1}"

    def changed(sign: str) -> str:
        lines = [
            " ".join(line[1:].split())
            for line in diff.splitlines()
            if line.startswith(sign) and not line.startswith(sign * 3) and line[1:].strip()
        ]
        return " ⏎ ".join(lines)

    return (module, function or "<module>", operator, changed("-"), changed("+"))


def baseline_line(key: tuple, why: str) -> str:
    module, function, operator, original, mutated = key
    return f"{module} {function} {operator} «{original}» → «{mutated}» — {why}"


def parse_mutation_baseline(text: str) -> tuple[dict, dict]:
    """
    The reviewed baseline: `checked MODULE SHA256` lines (the module's content at
    its last full run, for --changed) and one line per equivalent survivor
    (baseline_line; the text after the dash says why it cannot change behaviour).
    Returns ({module: sha256}, {key: why}); a line in neither form is an error.
    """
    import re

    equivalent = re.compile(r"(\S+) (\S+) (\S+) «(.*?)» → «(.*)» — (.+)")
    checked, survivors = {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("checked "):
            _, module, digest = line.split()[:3]
            checked[module] = digest
            continue
        match = equivalent.fullmatch(line)
        if not match:
            sys.exit(f"{MUTATION_BASELINE.name}:{number}: not a baseline line: {line}")
        survivors[match.groups()[:5]] = match.group(6)
    return checked, survivors


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the type annotations are ((line, column) from, to): a mutant there
    changes no behaviour, as annotations are not evaluated at run time here."""
    import ast

    lines = source.splitlines()

    def column(line: int, offset: int) -> int:  # ast counts bytes, cosmic-ray characters
        return len(lines[line - 1].encode()[:offset].decode(errors="ignore"))

    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        for annotation in filter(None, annotations):
            spans.append(
                (
                    (annotation.lineno, column(annotation.lineno, annotation.col_offset)),
                    (
                        annotation.end_lineno,
                        column(annotation.end_lineno, annotation.end_col_offset),
                    ),
                )
            )
    return spans


def operator_wanted(name: str, keep_only: dict[str, list[str]]) -> bool:
    """cosmic-ray replaces a binary operator by each of eleven others and a
    comparison by each of seven; the config keeps one or two partners of each."""
    family, _, pair = name.removeprefix("core/").partition("_")
    return family not in keep_only or pair in keep_only[family]


def module_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def changed_modules(modules: list[str], checked: dict[str, str], root: Path) -> list[str]:
    """The modules whose content differs from their `checked` line (none without one)."""
    return [m for m in modules if m in checked and checked[m] != module_digest(root / m)]


def scratch_copy() -> Path:
    """
    The work tree as it is (committed or not, ignored files left out) copied to a
    new folder under the temporary directory: mutants are written there, never
    into a work tree.
    """
    import tempfile

    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="tropa-mutants-"))
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)
    return scratch


def mutation_env() -> dict:
    """SQLite and eager Celery, no log file: no service, nothing outside the copy."""
    env = development_env()
    for name in ("DATABASE_URL", "REDIS_URL", "LOG_FILE"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant is never read from a stale .pyc
    return env


def parse_mutants_args(args: list[str], known: list[str]) -> dict:
    usage = (
        "usage: dev.py mutants [MODULE ...] [--changed] [--budget SECONDS] [--seed N] "
        "[--sample N] [--record]"
    )
    options = {
        "modules": [], "changed": False, "budget": None, "seed": None, "sample": None,
        "record": False,
    }  # fmt: skip
    words = iter(args)
    for word in words:
        if word in ("--changed", "--record"):
            options[word[2:]] = True
        elif word in ("--budget", "--seed", "--sample"):
            value = next(words, "")
            if not value.isdigit():
                sys.exit(f"{word} needs a whole number\n{usage}")
            options[word[2:]] = int(value)
        elif word.startswith("-"):
            sys.exit(usage)
        else:
            # encryption/content.py, encryption.content, or encryption (all of it)
            name = word.removesuffix(".py").replace(".", "/")
            chosen = [m for m in known if m.removesuffix(".py") == name or m.startswith(name + "/")]
            if not chosen:
                sys.exit(f"{word}: not a module of {MUTATION_CONFIG.name}: {', '.join(known)}")
            options["modules"] += [m for m in chosen if m not in options["modules"]]
    return options


def command_mutants(args: list[str]) -> None:
    """
    Mutation testing (tests/mutation.toml): cosmic-ray makes one small mistake at a
    time in each listed module, in a scratch copy of the tree, and the tests meant
    to catch it run with -x. A mutant no test notices (a survivor) fails the run
    unless tests/mutation-baseline.txt lists it as equivalent. `--changed`: only
    modules whose content differs from the baseline's `checked` line (a module
    without one has never been reviewed and is named, not run); `--budget
    SECONDS`: a random sample (seed printed; `--seed` replays it) when all would
    take longer; `--sample N`: the first N mutants of each module in the seed's
    order, however fast the machine (so CI runs exactly what a developer ran
    with the same seed; the budget can only stop it sooner); `--record`: write
    the `checked` line of each module run in full without a new survivor.
    """
    ensure_venv("dev")
    if Path(sys.prefix).resolve() != VENV.resolve():  # cosmic-ray lives in .venv
        run(str(PYTHON), str(ROOT / "dev.py"), "mutants", *args, env=mutation_env())
        return
    import tomllib

    config = tomllib.loads(MUTATION_CONFIG.read_text())
    mapping: dict[str, list[str]] = config["modules"]
    options = parse_mutants_args(args, list(mapping))
    checked, baseline = parse_mutation_baseline(MUTATION_BASELINE.read_text())
    modules = options["modules"] or list(mapping)
    if options["changed"]:
        # A module never run in full has no reviewed baseline yet: it is named,
        # not run, until `dev.py mutants MODULE --record` has been through it.
        never = [m for m in modules if m not in checked]
        if never:
            say(f"never run in full, so not checked here: {', '.join(never)}")
        modules = changed_modules(modules, checked, ROOT)
        say(f"modules changed since their last full run: {', '.join(modules) or 'none'}")
        if not modules:
            return
    scratch = scratch_copy()
    try:
        results = mutate_modules(scratch, modules, mapping, config, baseline, options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report_mutants(results, modules, baseline, options)


def module_mutants(scratch: Path, module: str, settings: dict) -> list:
    """The mutants of one module (cosmic-ray work items) that the config keeps,
    none inside a type annotation."""
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db

    spans = annotation_spans((scratch / module).read_text())
    items = []
    session = scratch / f"mutants-{module.replace('/', '-')}.sqlite"
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([Path(module)], db, {})
        for item in db.pending_work_items:
            mutation = item.mutations[0]
            where = (tuple(mutation.start_pos), tuple(mutation.end_pos))
            if not operator_wanted(mutation.operator_name, settings["keep-only"]):
                continue
            if any(start <= where[0] and where[1] <= end for start, end in spans):
                continue
            items.append(item)
    # The work database hands items out in no fixed order (their ids are random):
    # sorted by place and operator, a seed draws the same sample on every machine.
    return sorted(items, key=mutant_order)


def mutant_order(item) -> tuple:
    mutation = item.mutations[0]
    return (
        tuple(mutation.start_pos), tuple(mutation.end_pos), mutation.operator_name,
        mutation.occurrence,
    )  # fmt: skip


def clean_run(module: str, command: list[str], env: dict, limit: float | None) -> float | None:
    """The module's tests on unmutated code: seconds taken (infinite past the
    limit), or None if they fail (then no mutant of it can be judged)."""
    started = time.monotonic()
    try:
        clean = subprocess.run(  # noqa: S603 - our own tests
            command, capture_output=True, text=True, env=env, timeout=limit
        )
    except subprocess.TimeoutExpired:
        return float("inf")
    if clean.returncode != 0:
        print(clean.stdout[-3000:])
        print(f"==> {module}: its tests fail before any mutation: {' '.join(command)}")
        return None
    return time.monotonic() - started


def mutate_modules(scratch, modules, mapping, config, baseline, options) -> dict:
    """
    Run the mutants of each module in the scratch copy; what happened to each.
    With a budget, each module gets a share of the time left in proportion to
    its mutants, and runs a random sample (in an order drawn from the seed) when
    all of them at the pace of its clean run would not fit; the run stops at the
    budget whatever the estimate said.
    """
    import random

    env = mutation_env()
    os.environ.update(env)  # cosmic-ray passes its own environment to the tests
    for name in ("DATABASE_URL", "REDIS_URL", "LOG_FILE"):
        os.environ.pop(name, None)
    os.chdir(scratch)
    package = modules[0].removesuffix(".py").split("/")[0]  # importable without Django
    where = subprocess.run(  # noqa: S603 - our own virtualenv
        [str(PYTHON), "-c", f"import {package}; print({package}.__file__)"],
        capture_output=True, text=True, env=env,
    ).stdout.strip()  # fmt: skip
    if not where.startswith(str(scratch)):
        sys.exit(f"the tests would import {package} from {where or '?'}, not from the copy")
    settings = config["run"]
    pytest = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header"]
    budget = options["budget"]
    deadline = None if budget is None else STARTED + budget
    mutants = {module: module_mutants(scratch, module, settings) for module in modules}
    sample = options.get("sample")
    if budget is not None or sample is not None:
        seed = options["seed"]
        if seed is None:
            seed = random.SystemRandom().randrange(10**6)
        say(f"budget {budget} s, sample {sample}; mutants in the order of seed {seed}")
        chooser = random.Random(seed)  # noqa: S311 - a sample to replay, not a secret
        for items in mutants.values():
            chooser.shuffle(items)
    results = {}
    for number, module in enumerate(modules):
        items, tests = mutants[module], mapping[module]
        result = {"outcomes": [], "planned": len(items), "sampled_from": None, "broken": False}
        results[module] = result
        started = time.monotonic()
        limit = None if deadline is None else max(0.0, deadline - started)
        seconds = clean_run(module, [*pytest, *tests], env, limit) if items and limit != 0 else 0.0
        if items and (limit == 0 or seconds == float("inf")):
            print(f"==> {module}: not run, the budget is spent")
            result.update(planned=0, sampled_from=len(items), seconds=time.monotonic() - started)
            continue
        if seconds is None:
            result.update(broken=True, planned=0, seconds=time.monotonic() - started)
            continue
        if sample is not None and sample < len(items):
            result.update(sampled_from=len(items), planned=sample)
            items = items[:sample]
        elif deadline is not None and items:
            later = sum(len(mutants[m]) for m in modules[number + 1 :])
            share = (deadline - time.monotonic()) * len(items) / (len(items) + later)
            affordable = max(0, int(share / max(seconds, 0.5)))
            if affordable < len(items):
                result.update(sampled_from=len(items), planned=max(1, affordable))
                items = items[: result["planned"]]
        timeout = max(settings["min-timeout"], settings["timeout-factor"] * seconds)
        sampled = f" (a sample of {result['sampled_from']})" if result["sampled_from"] else ""
        print(
            f"==> {module}: {len(items)} mutants{sampled}, tests {' '.join(tests)} "
            f"({seconds:.1f} s clean; {timeout:.0f} s per mutant at most)",
            flush=True,
        )
        run_module_mutants(module, items, [*pytest, *tests], timeout, deadline, baseline, result)
        result["seconds"] = time.monotonic() - started
        print(f"    {summarise_outcomes(result['outcomes'])} in {result['seconds']:.0f} s")
        new = any(outcome == "survived" for outcome, _, _ in result["outcomes"])
        in_full = len(result["outcomes"]) == len(mutants[module])
        if options["record"] and in_full and not new:
            record_checked_modules([module])
    return results


def run_module_mutants(module, items, command, timeout, deadline, baseline, result) -> None:
    """Each mutant in turn (one mark each: . caught, T caught by the timeout,
    e equivalent as the baseline says, S a new survivor, printed at once)."""
    import shlex

    from cosmic_ray.mutating import mutate_and_test

    marks = {"killed": ".", "timeout": "T", "equivalent": "e", "survived": "S"}
    source = Path(module).read_text()  # the scratch copy's, unmutated between mutants
    print("    ", end="", flush=True)
    for number, item in enumerate(items, 1):
        if deadline is not None and time.monotonic() > deadline:
            print(" (budget spent)", end="")
            break
        mutation = item.mutations[0]
        outcome_of = mutate_and_test(item.mutations, shlex.join(command), timeout)
        outcome = (outcome_of.test_outcome or outcome_of.worker_outcome).value
        if outcome == "killed" and outcome_of.output == "timeout":
            outcome = "timeout"
        name = (mutation.definition_name, mutation.operator_name)
        key = mutant_key(module, *name, outcome_of.diff or "", source, mutation.start_pos[0])
        if outcome == "survived":
            outcome = "equivalent" if key in baseline else "survived"
        result["outcomes"].append((outcome, key, outcome_of))
        if outcome == "survived":
            why = "WHY IT CANNOT CHANGE BEHAVIOUR (or write a test that kills it)"
            print(f"\n    new survivor: {baseline_line(key, why)}\n    ", end="", flush=True)
        print(marks.get(outcome, "?"), end="\n    " if number % 60 == 0 else "", flush=True)
    print(flush=True)


def summarise_outcomes(outcomes: list) -> str:
    from collections import Counter

    counts = Counter(outcome for outcome, _, _ in outcomes)
    named = ("killed", "timeout", "equivalent", "survived")
    return (
        f"{len(outcomes)} run: {counts['killed']} killed, {counts['timeout']} by timeout, "
        f"{counts['equivalent']} equivalent (baseline), {counts['survived']} survived, "
        f"{len(outcomes) - sum(counts[k] for k in named)} incompetent"
    )


def report_mutants(results: dict, modules: list[str], baseline: dict, options: dict) -> None:
    """The summary, each new survivor with its diff and a baseline line to review,
    stale baseline lines, and the exit status (1 on any new survivor)."""
    say("summary")
    survivors, complete = [], []
    for module, result in results.items():
        outcomes = result["outcomes"]
        done = len(outcomes) == result["planned"] and result["sampled_from"] is None
        done = done and not result["broken"]
        note = "" if done else f" (of {result['sampled_from'] or result['planned']} mutants)"
        print(f"  {module}: {summarise_outcomes(outcomes)}{note}, {result['seconds']:.0f} s")
        survivors += [(key, res) for outcome, key, res in outcomes if outcome == "survived"]
        if done:
            complete.append(module)
    not_run = [m for m in modules if m not in complete]
    seconds = time.monotonic() - STARTED
    print(f"  {seconds:.0f} s in all; not run in full: {', '.join(not_run) or 'none'}")
    seen = {key for result in results.values() for _, key, _ in result["outcomes"]}
    stale = [key for key in baseline if key[0] in complete and key not in seen]
    for key in stale:
        line = baseline_line(key, baseline[key])
        print(f"  stale baseline line (the mutant is gone or now killed): {line}")
    if survivors:
        say(f"{len(survivors)} mutants survived that the baseline does not list:")
        for key, result in survivors:
            why = "WHY IT CANNOT CHANGE BEHAVIOUR (or write a test that kills it)"
            print(f"\n{baseline_line(key, why)}")
            print("".join(f"    {line}\n" for line in (result.diff or "").splitlines()), end="")
        sys.exit(1)
    broken = [module for module, result in results.items() if result["broken"]]
    if broken:
        sys.exit(f"the tests of {', '.join(broken)} fail without any mutant: fix them first")
    say("no survivor outside the baseline")


def record_checked_modules(modules: list[str]) -> None:
    """Write each module's `checked` line (its content now) into the baseline."""
    lines = [
        line for line in MUTATION_BASELINE.read_text().splitlines()
        if not (line.startswith("checked ") and line.split()[1] in modules)
    ]  # fmt: skip
    first = next((n for n, line in enumerate(lines) if line.startswith("checked ")), len(lines))
    today = time.strftime("%Y-%m-%d")
    new = [f"checked {m} {module_digest(ROOT / m)} {today}" for m in modules]
    MUTATION_BASELINE.write_text("\n".join(lines[:first] + new + lines[first:]) + "\n")
    say(f"recorded the content of {', '.join(modules)}: run in full, no new survivor")


COMMANDS = {
    "run": command_run,
    "install": command_install,
    "lock": command_lock,
    "test": command_test,
    "lint": command_lint,
    "security": command_security,
    "faults": command_faults,
    "drill": command_drill,
    "bench": command_bench,
    "manage": command_manage,
    "mutants": command_mutants,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:
        sys.exit(130)
