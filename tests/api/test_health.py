from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


@pytest.fixture(autouse=True)
def _fresh_checks() -> Iterator[None]:
    """No result reused from another test, and none left for the next one."""
    health.forget()
    yield
    health.forget()


def _counting(calls: list[float]) -> Callable[[], None]:
    def check() -> None:
        calls.append(time.monotonic())
        time.sleep(0.05)

    return check


def test_a_result_is_reused_for_a_second(anon: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setitem(health.CHECKS, "database", _counting(calls))
    assert anon.get("/health").status_code == anon.get("/health").status_code == 200
    assert len(calls) == 1
    monkeypatch.setattr(health, "REUSE_SECONDS", 0.1)
    time.sleep(0.15)
    assert anon.get("/health").json()["checks"]["database"]["status"] == "up"
    assert len(calls) == 2


def test_fifteen_graphql_aliases_of_health_check_once(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    monkeypatch.setitem(health.CHECKS, "database", _counting(calls))
    document = "{ " + " ".join(f"h{i}: health" for i in range(15)) + " }"
    body = anon.post("/graphql", {"query": document}, format="json").json()
    assert body["data"] == {f"h{i}": True for i in range(15)}
    assert len(calls) == 1


def test_callers_at_the_same_moment_share_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setitem(health.CHECKS, "database", _counting(calls))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: health.run_checks(), range(8)))
    assert len(calls) == 1
    assert all(result == results[0] for result in results)
