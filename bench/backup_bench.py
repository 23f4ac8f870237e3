"""
Backups at scale on PostgreSQL (issue 27): `backup`, `restore_check` and
`verify_audit_log --checkpoints`, each beside its floor.

A fresh database gets N requests with their cases (bulk SQL, as
bench/queue_bench.py) and N audit entries forming a valid chain (hashed in
Python, loaded with COPY), signed by 20 checkpoints an hour apart; every month
with requests has its stored report. Then, with production settings:

- `pg_dump --format=custom` alone, to a pipe (the backup's floor): time, size;
- `backup`: time, size of the .age file (and the manifest's time within it);
- `pg_dump | pg_restore` into a scratch database minus pg_dump alone (the
  restore's floor), and `restore_check` (decrypt, pg_restore, every check, drop);
- `verify_audit_log` (the chain alone) and `verify_audit_log --checkpoints`;
- one checkpoint (`make_checkpoint`), the median of 20.

    python dev.py bench backup_bench [--rows 1000000] [--database bench_backup]
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, production_env, run_child

REQUESTS_SQL = """
INSERT INTO intake_helprequest
    (reference, reference_key, received_at, channel, category, service_status, location, urgency,
     legal_articles, language, contact_fingerprint, receipt_selector, receipt_hash)
SELECT 'GL-' || substr(h, 1, 4) || '-' || substr(h, 5, 4), 'GL' || h,
       now() - (n % 1460) * interval '1 day' - (n % 86400) * interval '1 second',
       (ARRAY['web','telegram','signal','email','phone','other'])[1 + n % 6],
       (ARRAY['desertion','border_crossing','consultation','consultation'])[1 + n % 4],
       (ARRAY['mobilised','contract_wartime','conscript','civilian'])[1 + n % 4],
       (ARRAY['home_country','front_line','abroad'])[1 + n % 3],
       (ARRAY['low','normal','high','critical'])[1 + (n / 7) % 4],
       '338', 'ru', '', '', ''
FROM generate_series(1, %(rows)s) AS n,
     LATERAL (SELECT upper(lpad(to_hex((n::bigint * 2654435761) % 4294967296), 8, '0'))) AS r(h);

INSERT INTO cases_case
    (request_id, state, outcome, priority, resolved_at, closed_at, created_at, updated_at)
SELECT r.id,
       CASE WHEN r.id % 100 < 4 THEN (ARRAY['new','triaged','in_progress','waiting'])[1 + r.id % 4]
            WHEN r.id % 100 < 8 THEN 'rejected' ELSE 'closed' END,
       CASE WHEN r.id % 100 >= 8 THEN 'consultation_given' ELSE '' END,
       CASE r.urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
       CASE WHEN r.id % 100 >= 8 THEN r.received_at + interval '10 days' END,
       CASE WHEN r.id % 100 >= 4 THEN r.received_at + interval '10 days' END,
       r.received_at, now()
FROM intake_helprequest r;
"""
CHECKPOINTS = 20
START = datetime(2026, 1, 1, tzinfo=UTC)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def dump_to(scratch: str | None, env: dict) -> int:
    """pg_dump alone (its output counted), or piped into pg_restore into `scratch`."""
    dump = subprocess.Popen(["pg_dump", "--format=custom"], stdout=subprocess.PIPE, env=env)
    size = 0
    if scratch is None:
        while chunk := dump.stdout.read(1 << 20):
            size += len(chunk)
    else:
        restore = ["pg_restore", "--no-owner", "--no-acl", f"--dbname={scratch}"]
        subprocess.run(restore, stdin=dump.stdout, env=env, check=True)
    dump.stdout.close()
    if dump.wait():
        raise RuntimeError("pg_dump failed")
    return size


def fill_audit(rows: int, base: Path) -> None:
    """`rows` chained entries, COPYed in slices with a checkpoint after each slice."""
    from django.db import connection

    from audit import checkpoints
    from audit.models import GENESIS_HASH, AuditEntry, ChainHead
    from audit.services import HEAD_ID

    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    seq, previous = (head.seq, head.last_hash) if head else (0, GENESIS_HASH)
    per_slice = max(1, rows // CHECKPOINTS)
    connection.ensure_connection()
    for number in range(CHECKPOINTS):
        count = per_slice if number < CHECKPOINTS - 1 else rows - per_slice * number
        with connection.cursor() as cursor:
            copy_sql = (
                "COPY audit_auditentry (seq, at, actor, action, target, detail, prev_hash, "
                "entry_hash) FROM STDIN"
            )
            with cursor.copy(copy_sql) as copy:
                for _ in range(count):
                    seq += 1
                    entry = AuditEntry(
                        seq=seq,
                        at=START + timedelta(seconds=seq),
                        actor="bench-worker",
                        action="case.view",
                        target=f"GL-{seq % 9999:04d}-{seq % 7919:04d}",
                        detail={},
                        prev_hash=previous,
                    )
                    previous = entry.compute_hash()
                    copy.write_row(
                        (
                            seq,
                            entry.at,
                            entry.actor,
                            entry.action,
                            entry.target,
                            "{}",
                            entry.prev_hash,
                            previous,
                        )
                    )
        ChainHead.objects.update_or_create(pk=HEAD_ID, defaults={"seq": seq, "last_hash": previous})
        checkpoints.make_checkpoint(now=START + timedelta(hours=number))


def child(rows: int, folder: Path) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit import checkpoints
    from backups import services
    from reports.services import months_with_requests, store_reports

    identity = os.environ["BENCH_IDENTITY"]
    call_command("migrate", verbosity=0)
    results: dict = {"rows": rows}
    with connection.cursor() as cursor:
        fill_s, _ = timed(cursor.execute, REQUESTS_SQL.replace("%(rows)s", str(rows)))
    results["fill requests s"] = fill_s
    results["fill audit s"], _ = timed(fill_audit, rows, folder)
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    months = months_with_requests()
    results["store reports s"], _ = timed(store_reports, months)
    results["months"] = len(months)

    env = services._pg_env(connection.settings_dict)
    dump_s, size = timed(dump_to, None, env)
    results["pg_dump alone s"] = dump_s
    results["pg_dump alone MB"] = size / 1e6

    out_folder = folder / "backups"
    out_folder.mkdir()
    results["facts alone s"], _ = timed(services._facts, "default")
    results["backup s"], (archive, _manifest) = timed(services.make_backup, out_folder)
    results["backup MB"] = archive.stat().st_size / 1e6

    scratch = f"{connection.settings_dict['NAME']}_floor"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    pipe_s, _ = timed(dump_to, scratch, env)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{scratch}"')
    results["pg_restore alone s (dump|restore minus dump)"] = pipe_s - dump_s

    sys.stdin = io.StringIO(f"{identity}\n")
    results["restore_check s"], report = timed(services.restore_check, archive, identity)
    results["restore_check problems"] = report.problems

    out = io.StringIO()
    results["verify_audit_log s"], _ = timed(call_command, "verify_audit_log", stdout=out)
    results["verify_audit_log --checkpoints s"], _ = timed(
        call_command, "verify_audit_log", "--checkpoints", stdout=out
    )
    results["verify output"] = out.getvalue().strip().splitlines()[-1]

    costs = []
    for _ in range(20):
        cost, _ = timed(checkpoints.make_checkpoint)
        costs.append(cost)
    results["checkpoint ms (median of 20)"] = statistics.median(costs) * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_backup")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, Path(args.folder)), default=str))
        return
    import pyrage

    from bench.common import DEFAULT_POSTGRES

    admin = os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES)
    url = fresh_postgres(args.database, admin)
    identity = pyrage.x25519.Identity.generate()
    with tempfile.TemporaryDirectory(prefix="backup-bench-") as folder:
        base = Path(folder)
        (base / "recipients.txt").write_text(f"{identity.to_public()}\n")
        made = subprocess.run(
            [sys.executable, "manage.py", "make_audit_signing_key", str(base / "signing.pem")],
            env=production_env(url),
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        public = made.stdout.split("Public key: ")[1].split()[0]
        env = production_env(
            url,
            AUDIT_SIGNING_KEY_FILE=str(base / "signing.pem"),
            AUDIT_CHECKPOINT_PUBLIC_KEYS=public,
            AUDIT_CHECKPOINT_DIR=str(base / "checkpoints"),
            BACKUP_RECIPIENTS_FILE=str(base / "recipients.txt"),
            BENCH_IDENTITY=str(identity),
        )
        try:
            results = run_child(__file__, ["--rows", str(args.rows), "--folder", folder], env)
        finally:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    for name, value in results.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else value
        print(f"{name:>48}: {shown}")


if __name__ == "__main__":
    main()
