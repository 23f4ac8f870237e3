"""
The log scan of a test run: no value the run encrypted, and no receipt code it
issued, appears in any log the run wrote (the app's, gunicorn's, Celery's).

    python tests/log_scan.py test-artifacts/logs

`dev.py test` runs the suite with LOG_FILE in that folder (every process of the
run appends to it; gunicorn's own log is copied there) and then this scan. The
values come from tests/conftest.py, which writes them to sensitive-values.txt.
Exit status 1 names each value found (in the terminal of the person running
the tests, who wrote them) and the file it was found in.
"""

import sys
from pathlib import Path

VALUES_FILE = "sensitive-values.txt"


def scan(folder: Path) -> tuple[int, int, list[tuple[str, str]]]:
    """(log files read, values checked, [(value, file)] found)."""
    values = [
        line for line in (folder / VALUES_FILE).read_text(encoding="utf-8").splitlines() if line
    ]
    logs = sorted(p for p in folder.iterdir() if p.is_file() and p.name != VALUES_FILE)
    found = []
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        found += [(value, log.name) for value in values if value in text]
    return len(logs), len(values), found


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "test-artifacts/logs")
    if not (folder / VALUES_FILE).exists():
        print(f"log scan: {folder / VALUES_FILE} is missing; run the suite with LOG_FILE set")
        return 2
    files, count, found = scan(folder)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    if files == 0:
        print("log scan: no log file was written; LOG_FILE was not honoured")
        return 2
    for value, name in found:
        print(f"log scan: a sensitive value used by the tests is in {name}: {value!r}")
    print(
        f"log scan: {files} log file(s), {size:,} bytes, {count:,} sensitive values "
        f"checked, {len(found)} found"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
