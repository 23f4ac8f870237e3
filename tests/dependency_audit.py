"""
pip-audit over requirements.lock, with a verdict a person can read.

    python tests/dependency_audit.py requirements.lock

Fails (exit 1) on any known vulnerability in a locked version. A package the
vulnerability service could not answer for is listed as unaudited, never as
safe: on a machine whose network reaches neither PyPI's per-release JSON API
nor OSV (as on the CI machines of this project, which only see a package
mirror), every package ends up unaudited and the summary says so plainly.
"""

import json
import subprocess
import sys
from pathlib import Path


def audit(lock: Path) -> dict:
    result = subprocess.run(
        [
            sys.executable, "-m", "pip_audit", "-r", str(lock), "--no-deps", "--disable-pip",
            "--format", "json", "--progress-spinner", "off",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if not result.stdout.strip():
        sys.exit(f"pip-audit failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def main(argv: list[str]) -> int:
    report = audit(Path(argv[0] if argv else "requirements.lock"))
    dependencies = report["dependencies"]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    unaudited = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(unaudited)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            print(
                f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} ({fixed})"
            )
    print(
        f"pip-audit: {len(dependencies)} locked packages, {audited} audited, "
        f"{len(vulnerable)} with known vulnerabilities, {len(unaudited)} could not be audited"
    )
    if unaudited and not audited:
        print(
            "pip-audit: no vulnerability database was reachable from this machine "
            f"({unaudited[0]['skip_reason']}); run `python3.11 dev.py security` where PyPI "
            "or OSV is reachable before a release."
        )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
