"""
Import throughput against its floor.

Generates N CSV rows (default 100,000), imports them with `import_requests` into a
fresh SQLite file and a fresh PostgreSQL database, and prints rows/s next to the
cost of encrypting the same two fields (contact, narrative) at rest alone: the
floor no import can beat. The ratio floor/import is what the foundation issue
bounds (≤ 3), and still does now that every row is also sealed to the
organisation key (docs/encryption.md) on top of the at-rest layer.

    python dev.py bench import_bench [--rows N] [--databases sqlite,postgres]
        [--postgres-url postgres://postgres@127.0.0.1:5432/postgres]

Each database runs in its own process, since Django's settings are per process.
"""

import argparse
import csv
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, production_env, run_child

COLUMNS = [
    "reference",
    "received_at",
    "channel",
    "category",
    "service_status",
    "location",
    "urgency",
    "legal_articles",
    "state",
    "outcome",
    "resolved_at",
    "contact",
    "narrative",
]


def generate_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    states = ["new", "triaged", "in_progress", "waiting", "resolved", "closed", "rejected"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            state = rng.choice(states)
            resolved = state in ("resolved", "closed")
            month = 1 + n % 12
            writer.writerow(
                [
                    f"BENCH-{n:08d}",
                    f"2024-{month:02d}-{1 + n % 28:02d}T{n % 24:02d}:15:00",
                    rng.choice(["web", "telegram", "signal", "email", "phone", "other"]),
                    rng.choice(["desertion", "border_crossing", "consultation"]),
                    rng.choice(["conscript", "mobilised", "contract_wartime", "unknown"]),
                    rng.choice(["home_country", "front_line", "abroad"]),
                    rng.choice(["low", "normal", "high", "critical"]),
                    rng.choice(["", "337", "338", "337;338"]),
                    state,
                    "left_country" if resolved else "",
                    f"2024-{month:02d}-28" if resolved else "",
                    f"@bench_contact_{n:08d}",
                    "Synthetic benchmark narrative, about two hundred characters long. " * 3,
                ]
            )


def child(csv_path: Path, rows: int, workers: int | None) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from encryption import content
    from encryption.fields import keyring
    from encryption.models import OrganisationKey
    from encryption.padding import pad

    call_command("migrate", verbosity=0)
    # An installation's first caseworker would have made it: only its public
    # half is needed to seal the imported rows.
    OrganisationKey.objects.create(public_key=content.new_key_pair().public, state="active")
    options = {"workers": workers} if workers is not None else {}
    started = time.perf_counter()
    call_command("import_requests", str(csv_path), verbosity=0, stdout=io.StringIO(), **options)
    imported = time.perf_counter() - started
    # Peak memory of this (the writing) process: flat whatever the file's size.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The floor: encrypting the same two fields of every row, nothing else.
    with csv_path.open(newline="", encoding="utf-8") as handle:
        values = [(row[11].encode(), row[12].encode()) for row in csv.reader(handle)][1:]
    ring = keyring()
    started = time.perf_counter()
    for contact, narrative in values:
        ring.encrypt(pad(contact))
        ring.encrypt(pad(narrative))
    floor = time.perf_counter() - started
    return {"rows": rows, "floor_s": floor, "import_s": imported, "peak_mb": peak_mb}


def import_child(csv_path: Path, rows: int, database_url: str, workers: int | None) -> dict:
    args = [str(csv_path), "--rows", str(rows)]
    if workers is not None:
        args += ["--workers", str(workers)]
    return run_child(__file__, args, production_env(database_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=None, help="import_requests --workers")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.workers)))
        return

    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "bench.csv"
        generate_csv(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB of CSV")
        print(
            f"{'database':<10} {'import rows/s':>14} {'floor rows/s':>13} {'ratio':>6} "
            f"{'peak MB':>8}"
        )
        for database in args.databases.split(","):
            if database == "sqlite":
                url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
            else:
                url = fresh_postgres("bench_import", args.postgres_url)
            result = import_child(csv_path, args.rows, url, args.workers)
            import_rate = result["rows"] / result["import_s"]
            floor_rate = result["rows"] / result["floor_s"]
            print(
                f"{database:<10} {import_rate:>14,.0f} {floor_rate:>13,.0f} "
                f"{floor_rate / import_rate:>6.2f} {result['peak_mb']:>8.0f}"
            )


if __name__ == "__main__":
    main()
