"""Settings from the environment; a production start refuses development keys."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_A = "k" * 20 + "production-secret-key-for-tests"
KEY_B = "e" * 20 + "production-encryption-key-for-tests"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SECRET_KEY is the development key: set SECRET_KEY"),
        ({"SECRET_KEY": KEY_A}, "ENCRYPTION_KEY is the development key: set ENCRYPTION_KEY"),
        ({"SECRET_KEY": KEY_A, "ENCRYPTION_KEY": KEY_A}, "SECRET_KEY and ENCRYPTION_KEY are equal"),
        ({"SECRET_KEY": KEY_A, "ENCRYPTION_KEY": "short"}, "ENCRYPTION_KEY is shorter than 32"),
    ],
)
def test_it_refuses_to_start_without_production_keys(env, expected):
    result = manage("check", DEBUG="0", **env)

    assert result.returncode != 0
    assert expected in result.stderr
    assert "secrets.token_urlsafe" in result.stderr


def test_the_deployment_check_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=KEY_A,
        ENCRYPTION_KEY=KEY_B,
        ALLOWED_HOSTS="help.example.org",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_keys_are_accepted_with_debug_on():
    assert manage("check", DEBUG="1").returncode == 0


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout


@pytest.mark.django_db
def test_the_health_check_answers_plain_http_while_pages_go_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301
