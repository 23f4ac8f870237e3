"""Helpers shared by the benchmarks: fresh databases, production settings, children."""

import json
import os
import secrets
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def fresh_postgres(name: str, admin_url: str = DEFAULT_POSTGRES) -> str:
    """Drop and create database `name`; return its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def production_env(database_url: str, **extra: str) -> dict:
    """Settings as on a server: DEBUG off (so no query log), real-looking keys."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        **extra,
    }
    env.pop("REDIS_URL", None)
    return env


def run_child(script: str, args: list[str], env: dict) -> dict:
    """Run `script --child ...` and return the JSON object it prints last."""
    result = subprocess.run(
        [sys.executable, script, "--child", *args],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"benchmark child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict:
    return {
        "p50": statistics.median(samples) * 1000,
        "p95": percentile(samples, 0.95) * 1000,
        "max": max(samples) * 1000,
    }
