"""
One confirmed action rejects a whole flood: how long it takes for 20,000 held requests.

A fresh database (SQLite by default, as the embedded set-up runs it; or the
DATABASE_URL given) gets one flood of held requests, each with its own random
narrative (one group each: the flood the third review replayed) of 1.5 KB as
stored, then a caseworker's confirmed rejection of the flood's whole time
window is timed from the confirmation (cases.services.start_flood_rejection)
to the last case rejected (the Celery task's work, run in-process as it is
without REDIS_URL). Printed: one JSON object with the seconds it took.

    python dev.py bench flood_reject_bench [--held 20000] [--database-url URL]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import production_env, run_child


def child(held: int) -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case, Flood
    from cases.selectors import held_bytes, held_size
    from cases.services import start_flood_rejection
    from core.clock import hour_of
    from intake.models import HelpRequest

    call_command("migrate", verbosity=0)
    worker = get_user_model().objects.create_user("bench-caseworker")
    start = hour_of(timezone.now() - timedelta(hours=3))
    flood = Flood.objects.create(started_at=start, last_held_at=start + timedelta(hours=2))
    requests = HelpRequest.objects.bulk_create(
        HelpRequest(
            reference=f"GL-B{n // 32768:03X}-{n % 32768:04X}",
            received_at=start + timedelta(hours=n * 3 // held),
            channel="web",
            category="consultation",
            service_status="unknown",
            location="unknown",
            urgency="normal",
            legal_articles=[],
        )
        for n in range(held)
    )
    with connection.cursor() as cursor:  # what a random narrative takes, sealed
        cursor.execute(
            "UPDATE intake_helprequest SET narrative = randomblob(1500)"
            if connection.vendor == "sqlite"
            else "UPDATE intake_helprequest SET narrative = gen_random_bytes(1500)"
        )
    Case.objects.bulk_create(
        Case(
            request=request,
            created_at=request.received_at,
            updated_at=request.received_at,
            flood=flood,
            flood_digest=f"{n:064x}",
        )
        for n, request in enumerate(requests)
    )
    size = Case.objects.aggregate(total=django.db.models.Sum(held_size()))["total"]
    Flood.objects.filter(pk=flood.pk).update(held=held, held_bytes=size)
    last = Case.objects.order_by("-pk").values_list("pk", flat=True).first()

    began = time.perf_counter()
    job = start_flood_rejection(start, start + timedelta(hours=3), last, actor=worker)
    seconds = time.perf_counter() - began

    job.refresh_from_db()
    assert (job.state, job.rejected) == ("done", held), (job.state, job.rejected)
    assert not Case.objects.filter(flood__isnull=False).exists() and held_bytes() == 0
    return {
        "database": connection.vendor,
        "held": held,
        "held_megabytes": round(size / 1024**2, 1),
        "rejected": job.rejected,
        "seconds": round(seconds, 2),
        "per_second": round(held / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--held", type=int, default=20_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.held)))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/flood.sqlite3"
        env = production_env(url, DJANGO_SETTINGS_MODULE="config.settings")
        result = run_child(__file__, ["--held", str(args.held)], env)
    print(json.dumps(result))
    print(
        f"one confirmed action rejected {result['rejected']:,} held requests "
        f"in {result['seconds']} s on {result['database']}"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
