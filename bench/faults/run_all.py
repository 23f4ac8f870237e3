"""
Run every fault scenario, one after another, each in its own process, and
summarise. Exits 0 only when every scenario recovered with nothing lost.

    .venv/bin/python -m bench.faults.run_all [worker_killed redis_down ...]
"""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("worker_killed", "redis_down", "postgres_restart")
# Each takes well under a minute; a hung one is stopped and counted as failed.
TIMEOUT_SECONDS = 120


def run(name: str) -> tuple[str, float]:
    print(f"\n=== {name}", flush=True)
    started = time.monotonic()
    scenario = subprocess.Popen([sys.executable, "-m", f"bench.faults.{name}"], cwd=ROOT)
    try:
        code = scenario.wait(timeout=TIMEOUT_SECONDS)
        verdict = "recovered" if code == 0 else f"FAILED (exit {code})"
    except subprocess.TimeoutExpired:
        # SIGTERM lets the scenario stop the servers it started (common.run_scenario).
        scenario.terminate()
        try:
            scenario.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scenario.kill()
            scenario.wait()
        verdict = f"FAILED (still running after {TIMEOUT_SECONDS} s, stopped)"
    return verdict, time.monotonic() - started


def main() -> int:
    chosen = sys.argv[1:] or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    results = {name: run(name) for name in chosen}
    print("\n=== fault scenarios", flush=True)
    for name, (verdict, seconds) in results.items():
        print(f"  {name:<18} {verdict:<12} {seconds:5.1f} s")
    failed = [name for name, (verdict, _) in results.items() if verdict != "recovered"]
    print(f"{len(chosen) - len(failed)} of {len(chosen)} recovered with nothing lost", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
