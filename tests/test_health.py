"""``GET /api/v1/performance/health``: readiness without authentication, without internals."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from enterprise.cache import stores

pytestmark = pytest.mark.django_db


def test_health_is_public_and_reports_every_check(client):
    response = client.get("/api/v1/performance/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] in ("ok", "degraded")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] in ("ok", "local")
    assert response["Cache-Control"] == "no-store"


class _FailingCursor:
    def __enter__(self):
        raise OperationalError(
            "connection to server at 10.0.0.5 failed: password authentication failed"
        )

    def __exit__(self, *exc):
        return False


def test_database_down_is_503_without_internals(client, monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections["default"], "cursor", lambda: _FailingCursor())
    response = client.get("/api/v1/performance/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "database": "down",
            "cache": response.json()["checks"]["cache"],
            "breakers": {"database": "closed", "redis": "closed"},
        },
        "version": "1.0.0",
    }
    assert b"10.0.0.5" not in response.content and b"password" not in response.content


def test_redis_down_is_degraded_not_unavailable(client, monkeypatch):
    class DeadClient:
        def ping(self):
            raise ConnectionError("redis down")

    store = stores.RedisStore.__new__(stores.RedisStore)
    store.client = DeadClient()
    monkeypatch.setattr(stores, "_store", store)
    monkeypatch.setattr("perfmon.health.get_store", lambda: store)
    response = client.get("/api/v1/performance/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["checks"]["cache"] == "down"
