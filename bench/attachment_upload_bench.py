"""
Text-only submissions per second while five requesters upload 10 MB photos,
next to the same without uploads.

Starts gunicorn with production settings (PostgreSQL, Redis when reachable,
rate limits off), as bench/intake_bench.py does. First `--clients` browser-like
clients submit the text-only form for `--seconds` (the baseline); then the same
again while `--uploaders` more clients each send the form with one photo of
about 10 MB (a noisy JPEG, just under ATTACHMENT_MAX_BYTES), one after another.
Prints both rates, their ratio, upload latency (p50/p95) and uploads done, and
checks that every receipt shown is a stored request and every upload stored
its attachment.

    python dev.py bench attachment_upload_bench [--seconds 20] [--clients 4]
        [--uploaders 5] [--workers 3] [--threads 1] [--database bench_attachments]
"""

import argparse
import http.client
import io
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, percentile, production_env
from bench.http_load import FORM, RECEIPT, Client, Results, gunicorn, run
from bench.intake_bench import redis_reachable

MAX_BYTES = 10 * 1024 * 1024


def ten_megabyte_photo() -> bytes:
    """A JPEG of noise just under 10 MB: the worst case to decode and re-encode."""
    from PIL import Image

    side, quality = 2700, 97
    while True:
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
            buffer, "JPEG", quality=quality
        )
        if buffer.tell() <= MAX_BYTES:
            return buffer.getvalue()
        side -= 50


def multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
        f'filename="IMG_0001.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload_loop(host: str, port: int, photo: bytes, deadline: float, results: Results) -> None:
    client = Client(host, port)
    client.prepare()
    while time.perf_counter() < deadline:
        body, content_type = multipart({**FORM, "csrfmiddlewaretoken": client.token}, photo)
        started = time.perf_counter()
        try:
            headers = {
                "X-Forwarded-Proto": "https",
                "Host": f"{host}:{port}",
                "Cookie": client.cookie,
                "Content-Type": content_type,
                "Origin": client.origin,
            }
            client.connection.request("POST", "/", body=body, headers=headers)
            response = client.connection.getresponse()
            page = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            client.connection.close()
            client.connection = http.client.HTTPConnection(host, port, timeout=120)
            with results.lock:
                results.errors += 1
            continue
        match = RECEIPT.search(page) if response.status == 200 else None
        results.add(time.perf_counter() - started, response.status, match and match.group(1))


def pct(samples: list[float], fraction: float) -> float:
    return percentile(samples, fraction) if samples else 0.0


def counts(database_url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        requests = connection.execute("SELECT COUNT(*) FROM intake_helprequest").fetchone()[0]
        files = connection.execute(
            "SELECT COUNT(DISTINCT request_id) FROM intake_attachment"
        ).fetchone()[0]
    return requests, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--uploaders", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_attachments")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    photo = ten_megabyte_photo()
    database_url = fresh_postgres(args.database, args.postgres_url)
    objects = tempfile.mkdtemp(prefix="bench-attachments-")
    extra = {
        "INTAKE_RATE_LIMIT": "0",
        "INTAKE_GLOBAL_LIMIT": "0",
        "ATTACHMENT_DIR": objects,
    }
    if redis_reachable():
        extra["REDIS_URL"] = args.redis_url
    env = production_env(database_url, **extra)
    if "REDIS_URL" in extra:
        env["REDIS_URL"] = extra["REDIS_URL"]
    with gunicorn(env, workers=args.workers, threads=args.threads) as (host, port):
        alone, alone_s = run(host, port, args.clients, args.seconds, "submit")
        uploads = Results()
        deadline = time.perf_counter() + args.seconds
        uploaders = [
            threading.Thread(target=upload_loop, args=(host, port, photo, deadline, uploads))
            for _ in range(args.uploaders)
        ]
        for thread in uploaders:
            thread.start()
        beside, beside_s = run(host, port, args.clients, args.seconds, "submit")
        for thread in uploaders:
            thread.join()

    rate_alone = alone.statuses.get(200, 0) / alone_s
    rate_beside = beside.statuses.get(200, 0) / beside_s
    stored, with_files = counts(database_url)
    shown = len(alone.receipts) + len(beside.receipts) + len(uploads.receipts)
    print(f"gunicorn: {args.workers} workers x {args.threads} threads; {args.seconds:.0f} s each")
    print(f"photo: {len(photo) / 1024 / 1024:.1f} MB JPEG of noise")
    print(
        f"text-only alone:        {rate_alone:6.2f}/s  p50 {pct(alone.latencies, 0.5):.3f} s"
        f"  p95 {pct(alone.latencies, 0.95):.3f} s"
    )
    print(
        f"text-only with uploads: {rate_beside:6.2f}/s  p50 {pct(beside.latencies, 0.5):.3f} s"
        f"  p95 {pct(beside.latencies, 0.95):.3f} s"
    )
    print(f"ratio (with / alone):   {rate_beside / rate_alone if rate_alone else 0:.2f}")
    print(
        f"uploads: {uploads.statuses.get(200, 0)} stored by {args.uploaders} uploaders, "
        f"p50 {pct(uploads.latencies, 0.5):.2f} s, p95 {pct(uploads.latencies, 0.95):.2f} s,"
        f" statuses {uploads.statuses}, errors {uploads.errors}"
    )
    print(f"stored requests {stored}, receipts shown {shown}; requests with files {with_files}")
    if stored != shown or with_files != len(uploads.receipts):
        sys.exit("a receipt without its stored request, or an upload without its files")


if __name__ == "__main__":
    main()
