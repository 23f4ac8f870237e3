"""
dev.py's console: each step on one line saying what it does and how long it
took, uv installing with pip as the fallback, and an editable install that
setuptools does not warn about. dev.py runs in a subprocess, as a person runs it.
"""

import ast
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".venv" / "bin" / "uv"
SECONDS = r"\d+\.\d s"


def dev(script: str) -> subprocess.CompletedProcess:
    """Run Python code that imports dev.py, from the project's folder."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys\nimport dev\n{script}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def python(code: str) -> str:
    return f"[sys.executable, '-c', {code!r}]"


def test_a_step_is_one_line_saying_what_it_does_and_how_long_it_took():
    result = dev(
        f"ok = dev.run_step('a fake step', "
        f"{python('import time; time.sleep(0.3); print(1234)')})\n"
        "print('returned', ok)"
    )

    lines = result.stdout.splitlines()
    assert re.fullmatch(r"==> a fake step … 0\.[3-9] s", lines[0]), lines
    assert lines[1:] == ["returned True"]  # the command's own output is kept back


def test_a_step_that_fails_says_so_and_shows_what_its_command_said():
    result = dev(
        f"ok = dev.run_step('a broken step', "
        f"{python('import sys; print(4321); sys.exit(3)')})\n"
        "print('returned', ok)"
    )

    lines = result.stdout.splitlines()
    assert re.fullmatch(rf"==> a broken step … failed after {SECONDS}", lines[0]), lines
    assert lines[1:] == ["    4321", "returned False"]


def test_when_the_first_way_fails_the_next_one_installs():
    uv_offline = python("import sys; print('uv: no network'); sys.exit(2)")
    pip_works = python("pass")
    result = dev(
        "name = dev.first_way_that_works(["
        f"('uv', [('a fake uv install', {uv_offline})]),"
        f"('pip', [('a fake pip install', {pip_works})])])\n"
        "print('installed with', name)"
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(rf"==> a fake uv install … failed after {SECONDS}", lines[0]), lines
    assert lines[1:3] == [
        "    uv: no network",
        "==> uv did not work (see above); trying pip instead",
    ]
    assert re.fullmatch(rf"==> a fake pip install … {SECONDS}", lines[3]), lines
    assert lines[4] == "installed with pip"


def test_when_no_way_works_it_stops_with_an_error():
    fails = python("import sys; sys.exit(1)")
    result = dev(f"dev.first_way_that_works([('pip', [('a fake pip install', {fails})])])")

    assert result.returncode != 0
    assert "Could not install the dependencies" in result.stderr


def test_the_real_install_step_reports_each_step_on_an_installed_virtualenv():
    result = subprocess.run(
        [sys.executable, "dev.py", "install", "--dev", "--refresh"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    installs = [line for line in lines if line.startswith("==> installing ")]
    assert installs, lines
    assert re.fullmatch(
        rf"==> installing \d+ packages and what they need, at the versions and hashes of "
        rf"requirements-dev\.lock \(django, .*, pip-audit\) with uv … {SECONDS}",
        installs[-2],
    ), installs
    assert re.fullmatch(
        rf"==> installing the project itself, built with the locked setuptools … {SECONDS}",
        installs[-1],
    ), installs
    assert "did not work" not in result.stdout
    assert re.fullmatch(rf"==> installed in {SECONDS}", lines[-1]), lines


def test_the_editable_install_gives_no_warning_about_folders(tmp_path):
    """setuptools used to warn at every install that folders named like packages
    may take precedence: the build is configured so that it has no reason to."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    result = subprocess.run(
        [
            str(UV), "pip", "install", "--verbose", "--no-deps", "--reinstall",
            "--python", str(target / "bin" / "python"), "-e", str(ROOT),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Calling `setuptools.build_meta.build_editable" in output  # it was built here
    assert "Please be careful with folders" not in output
    assert "InformationOnly" not in output


def project_copy(tmp_path: Path) -> Path:
    """dev.py, pyproject.toml and the locks in a folder of their own, using this
    project's uv (the virtualenv is linked, never installed into)."""
    for name in ("dev.py", "pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def lock_check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "dev.py", "lock", "--check"],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_locks_agree_with_pyproject_and_every_pin_has_hashes(tmp_path):
    result = lock_check(project_copy(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    for lock in ("requirements.lock", "requirements-dev.lock"):
        entries = re.split(r"\n(?=[A-Za-z])", (ROOT / lock).read_text())
        assert all("--hash=sha256:" in entry for entry in entries if "==" in entry), lock
    assert re.search(r"^setuptools==84\.2\.1 ", (ROOT / "requirements.lock").read_text(), re.M)


def test_ci_fails_when_pyproject_and_the_locks_disagree(tmp_path):
    folder = project_copy(tmp_path)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "dependencies = [\n", 'dependencies = [\n    "tabulate>=0.9",\n', 1
        )
    )

    result = lock_check(folder)

    assert result.returncode != 0
    assert "disagree: run python dev.py lock" in result.stdout + result.stderr


def test_run_keeps_the_demo_authenticators_unless_asked_fresh():
    """What `dev.py run` asks of demo_setup, with the server and the steps stubbed out."""
    script = (
        "steps = []\n"
        "dev.ensure_venv = lambda *a, **k: None\n"
        "dev.manage_step = lambda title, *args, **k: steps.append(args)\n"
        "dev.manage = lambda *args: steps.append(('serve',) + args)\n"
        "dev.say = lambda *a: None\n"
        "dev.command_run([])\n"
        "dev.command_run(['--fresh', '0.0.0.0:9000'])\n"
        "print(steps)\n"
    )
    steps = ast.literal_eval(dev(script).stdout)

    assert steps[1] == ("demo_setup",)
    assert steps[2] == ("serve", "runserver", "127.0.0.1:8000")
    assert steps[4] == ("demo_setup", "--fresh")
    assert steps[5] == ("serve", "runserver", "0.0.0.0:9000")
