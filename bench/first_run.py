"""
Time to the first page of `python3.11 dev.py run` on a fresh clone.

Clones this repository (or --repo) at --ref into a temporary folder, so there is
no .venv and no db.sqlite3, runs `dev.py run` there with no DATABASE_URL or
REDIS_URL, and asks for `/` every half second until it answers 200. Every line
dev.py prints is shown with the seconds since the start, then the time of each
step (the `==>` lines) and the time to the first page.

    python3.11 bench/first_run.py [--ref HEAD] [--repo .] [--port 18808]
        [--cold-cache] [--python python3.11] [--keep]

--cold-cache gives pip and uv empty cache folders, as on a machine that never
installed anything; without it they use the caches of this user.
"""

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP = re.compile(r"^==> (.*?)(?: … ([\d.]+) s)?$")


def clone(repo: str, ref: str, into: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", repo, str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", ref], check=True)


def first_page(port: int, process: subprocess.Popen, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                if response.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.5)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(ROOT))
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--port", type=int, default=18808)
    parser.add_argument("--python", default="python3.11")
    parser.add_argument("--cold-cache", action="store_true")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the clone and print its path")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="tropa-first-run-"))
    checkout = scratch / "tropa"
    clone(args.repo, args.ref, checkout)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if args.cold_cache:
        env["XDG_CACHE_HOME"] = str(scratch / "cache")
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    process = subprocess.Popen(
        [args.python, "dev.py", "run", f"127.0.0.1:{args.port}"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def read() -> None:
        for line in process.stdout:
            elapsed = time.monotonic() - started
            lines.append((elapsed, line.rstrip()))
            print(f"{elapsed:7.1f} s  {line.rstrip()}", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    answered = first_page(args.port, process, args.timeout)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    reader.join(timeout=5)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)

    print("\nsteps (from the ==> lines: the time each prints, or until the next one):")
    marks = [(t, m.group(1), m.group(2)) for t, line in lines if (m := STEP.match(line))]
    ends = [t for t, _, _ in marks[1:]] + [answered - started if answered else float("nan")]
    for (begun, name, took), ended in zip(marks, ends, strict=True):
        seconds = float(took) if took else ended - begun
        print(f"  {seconds:7.1f} s  {name[:100]}")
    if answered is None:
        print("no first page: dev.py run stopped or the timeout passed")
    else:
        print(f"first page after {answered - started:.1f} s")
    # Less dependent on what else the machine runs than the wall clock.
    print(f"CPU time of dev.py and everything it started: {used.ru_utime + used.ru_stime:.1f} s")
    if args.keep:
        print(f"clone kept in {checkout}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if answered else 1)


if __name__ == "__main__":
    main()
