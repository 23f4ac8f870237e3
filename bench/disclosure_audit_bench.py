"""
The attacker's linear-programming audit of the published statistics, timed.

Runs tests/test_disclosure_audit.py's 24-month story (SQLite, nothing else
needed: about 1,400 requests over 2023-2024, every month's report stored,
pages fetched over the test client, five exports in three formats) and times
its parts: building the months, collecting everything published, and the
audit itself (nested differences and the linear programs), repeated on the
same publication.

    python dev.py bench disclosure_audit_bench [--repeat 3] [--exact]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TEST = "tests/test_disclosure_audit.py::test_nothing_small_can_be_worked_out_from_everything_published_over_24_months"  # noqa: E501


class Timer:
    """A pytest plugin that times the test's steps by wrapping the functions it calls."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.times: dict[str, list[float]] = {}
        self.sizes: dict[str, int] = {}
        self.publication = None

    def timed(self, name: str, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            result = function(*args, **kwargs)
            self.times.setdefault(name, []).append(time.perf_counter() - started)
            return result

        return run

    def pytest_collection_modifyitems(self, items) -> None:
        from tests import disclosure_audit

        module = items[0].module
        module.fill_months = self.timed("build 24 months (factories)", module.fill_months)
        module.store_reports = self.timed("store every month's report", module.store_reports)
        module.collect = self.timed("collect everything published", module.collect)
        solve = disclosure_audit.exposed_ranges

        def counted(publication):
            solved = solve(publication)
            self.sizes.update(
                figures=len(publication.figures),
                withheld=solved.withheld,
                programs=solved.programs,
            )
            return solved

        disclosure_audit.exposed_ranges = counted
        audit = module.audit

        def repeated(publication):
            self.publication = publication
            findings = None
            for _ in range(self.repeat):
                findings = self.timed("audit (differences + linear programs)", audit)(publication)
            return findings

        module.audit = repeated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also the exact lowest and highest value of every withheld figure (two programs each)",
    )
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.chdir(ROOT)
    import pytest

    timer = Timer(args.repeat)
    code = pytest.main([TEST, "-q", "-p", "no:cacheprovider"], plugins=[timer])
    for name, times in timer.times.items():
        shown = f"{statistics.median(times):7.2f} s"
        if len(times) > 1:
            shown += f"  (median of {len(times)}, min {min(times):.2f} s)"
        print(f"{name:<40}{shown}")
    if args.exact and timer.publication is not None:
        from tests.disclosure_audit import feasible_ranges

        started = time.perf_counter()
        ranges = feasible_ranges(timer.publication)
        k = timer.publication.min_cell
        inside = sum(1 for low, high in ranges.values() if low > 1e-6 and high < k - 1e-6)
        print(
            f"{'exact ranges of every withheld figure':<40}{time.perf_counter() - started:7.2f} s"
            f"  ({2 * len(ranges)} programs; {inside} ranges wholly inside 1..{k - 1})"
        )
    sizes = timer.sizes
    print(
        f"{sizes.get('figures', 0)} figures, {sizes.get('withheld', 0)} withheld, "
        f"{sizes.get('programs', 0)} linear programs (scipy {_scipy_version()}, HiGHS)"
    )
    sys.exit(int(code))


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


if __name__ == "__main__":
    main()
