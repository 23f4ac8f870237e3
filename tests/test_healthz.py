"""/healthz: liveness and readiness."""

import pytest
from django.conf import settings


@pytest.mark.django_db
def test_it_reports_the_database_and_redis_when_configured(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] is True
    assert ("redis" in body["checks"]) is bool(settings.REDIS_URL)


@pytest.mark.django_db
def test_it_says_unavailable_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "redis": False},
    }


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
