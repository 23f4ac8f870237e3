"""
The log scan of a test run: no value the run encrypted, and no receipt code it
issued, appears in any log the run wrote (the app's, gunicorn's, Celery's); and
no log holds a URL (a client's referrer or origin, a service URL with its
password) or a raw control or invisible character (a forged line, a bidi
override), which the logging filter (core.logging) escapes.

    python tests/log_scan.py test-artifacts/logs

`dev.py test` runs the suite with LOG_FILE in that folder (every process of the
run appends to it; gunicorn's own log is copied there) and then this scan. The
values come from tests/conftest.py, which writes them to sensitive-values.txt.
Exit status 1 names each value found (in the terminal of the person running
the tests, who wrote them) and the file it was found in.
"""

import re
import sys
import unicodedata
from pathlib import Path

VALUES_FILE = "sensitive-values.txt"
# Values the run sealed that were not collected for the scan (see
# tests/sensitive_values.py): a scan that checks less than was sealed fails.
UNCOLLECTED_FILE = "sealed-but-not-collected.txt"
INPUTS = {VALUES_FILE, UNCOLLECTED_FILE}
URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S")
# A line break ends a line; anything else of these categories must be escaped.
RAW_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
ALLOWED_RAW = {"\n", "\t"}


def unsafe_lines(text: str) -> list[str]:
    """What is wrong with each line that holds a URL or a raw invisible character."""
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        if URL.search(line):
            problems.append(f"line {number}: a URL")
        if line.isprintable():
            continue
        raw = {ch for ch in line if unicodedata.category(ch) in RAW_CATEGORIES} - ALLOWED_RAW
        if raw:
            shown = ", ".join(sorted(ascii(ch) for ch in raw))
            problems.append(f"line {number}: raw control or invisible characters {shown}")
    return problems


def log_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in INPUTS)


def uncollected(folder: Path) -> int:
    """How many values the run sealed without the scan looking for them."""
    path = folder / UNCOLLECTED_FILE
    if not path.exists():
        return 0
    return len([line for line in path.read_text(encoding="utf-8").splitlines() if line])


def scan(folder: Path) -> tuple[int, int, list[tuple[str, str]]]:
    """(log files read, values checked, [(value, file)] found)."""
    values = [
        line for line in (folder / VALUES_FILE).read_text(encoding="utf-8").splitlines() if line
    ]
    logs = log_files(folder)
    found = []
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        found += [(value, log.name) for value in values if value in text]
    return len(logs), len(values), found


def scan_shapes(folder: Path) -> list[tuple[str, str]]:
    """[(problem, file)] for URLs and raw invisible characters in any log."""
    logs = log_files(folder)
    return [
        (problem, log.name)
        for log in logs
        for problem in unsafe_lines(log.read_text(encoding="utf-8", errors="replace"))
    ]


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
    shapes = scan_shapes(folder)
    for problem, name in shapes:
        print(f"log scan: {name}, {problem}")
    missed = uncollected(folder)
    if missed:
        print(
            f"log scan: {missed:,} value(s) the run sealed were not collected for the scan "
            f"(see {UNCOLLECTED_FILE}): a sealing path bypasses tests/sensitive_values.py"
        )
    print(
        f"log scan: {files} log file(s), {size:,} bytes, {count:,} sensitive values "
        f"checked, {len(found)} found; {len(shapes)} line(s) with a URL or a raw "
        "control character"
    )
    return 1 if found or shapes or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
