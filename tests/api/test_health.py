from __future__ import annotations

from typing import Any

import pytest

from leaderboard_site.api import health

pytestmark = pytest.mark.django_db


def test_health_reports_each_dependency(anon: Any) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["version"]
    assert isinstance(body["uptime_seconds"], int)
    assert body["timestamp"].endswith("Z")
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "up",
        "cache": "up",
        "broker": "up",
    }


def _broken() -> None:
    raise ConnectionError("connection refused")


def test_a_broker_outage_degrades(anon: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.CHECKS, "broker", _broken)
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert "connection refused" in response.json()["checks"]["broker"]["error"]


def test_a_database_outage_is_unhealthy(anon: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(health.CHECKS, "database", _broken)
    response = anon.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
