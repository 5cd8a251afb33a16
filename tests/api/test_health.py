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


# --- liveness and readiness -------------------------------------------------------------------
def test_liveness_answers_without_the_database(
    anon: Any, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    monkeypatch.setitem(health.CHECKS, "database", _broken)
    with django_assert_num_queries(0):
        response = anon.get("/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "alive"


def test_readiness_checks_the_database_and_the_cache(anon: Any) -> None:
    response = anon.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "up",
        "cache": "up",
    }


@pytest.mark.parametrize("down", ["database", "cache"])
def test_not_ready_is_a_503_envelope(anon: Any, monkeypatch: pytest.MonkeyPatch, down: str) -> None:
    monkeypatch.setitem(health.CHECKS, down, _broken)
    response = anon.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert down in body["error"]["message"]
    assert body["error"]["details"]["checks"][down]["status"] == "down"
    assert anon.get("/health/live").status_code == 200  # alive all the same


def test_a_broker_outage_does_not_make_it_unready(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(health.CHECKS, "broker", _broken)
    assert anon.get("/health/ready").status_code == 200


# --- what /health reports besides -------------------------------------------------------------
@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from leaderboard_site.metrics import state

    state.forget()
    monkeypatch.setattr(state.workers_alive, "read", lambda: {q: [] for q in state.queues()})
    yield state
    state.forget()


def test_the_hub_reachable(anon: Any, hub: Any, fresh_state: Any) -> None:
    body = anon.get("/health").json()
    assert body["hub"]["status"] == "up"
    assert body["hub"]["endpoint"] == hub.url
    assert body["status"] == "healthy"


def test_the_hub_unreachable_does_not_fail_health(
    anon: Any, settings: Any, fresh_state: Any
) -> None:
    settings.HF_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    response = anon.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["hub"]["status"] == "down" and body["hub"]["error"]
    assert body["status"] == "healthy"


def test_the_hub_is_asked_at_most_every_half_minute(
    anon: Any, monkeypatch: pytest.MonkeyPatch, fresh_state: Any
) -> None:
    from leaderboard_site.hub import status

    calls: list[float] = []
    monkeypatch.setattr(status, "ping", lambda: calls.append(time.monotonic()) or {"status": "up"})
    for _ in range(5):
        health.forget()
        assert anon.get("/health").json()["hub"]["status"] == "up"
    assert len(calls) == 1


def test_the_mirror_lag_per_dataset(anon: Any, fresh_state: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from leaderboard_site.hub.models import MirrorChange

    MirrorChange.objects.create(dataset="requests", path="a.json", operation="put", content=b"")
    MirrorChange.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    mirror = anon.get("/health").json()["mirror"]
    assert 90 <= mirror["lag_seconds"]["requests"] < 150
    assert mirror["lag_seconds"]["votes"] == 0
    assert mirror["last_push"] == dict.fromkeys(mirror["lag_seconds"])


def test_the_workers_alive_per_queue(
    anon: Any, monkeypatch: pytest.MonkeyPatch, fresh_state: Any
) -> None:
    from leaderboard_site.celery import app as celery_app

    monkeypatch.undo()  # the real inspect, answered by the broadcast below

    class Inspect:
        def __init__(self, timeout: float) -> None:
            assert timeout <= 5  # bounded (and waited out on a thread of its own)

        def active_queues(self) -> dict[str, Any]:
            return {"evaluation@gpu1": [{"name": "evaluation"}]}

    monkeypatch.setattr(celery_app.control, "inspect", Inspect)
    workers = anon.get("/health").json()["workers"]
    assert workers == {"benchmarks": [], "default": [], "evaluation": ["evaluation@gpu1"]}


def test_the_workers_unknown_when_the_inspect_fails(
    anon: Any, monkeypatch: pytest.MonkeyPatch, fresh_state: Any
) -> None:
    from leaderboard_site.celery import app as celery_app

    monkeypatch.undo()

    def broken(timeout: float) -> Any:
        raise ConnectionError("broker down")

    monkeypatch.setattr(celery_app.control, "inspect", broken)
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json()["workers"] == {"benchmarks": [], "default": [], "evaluation": []}


def test_providers_reachability_is_read_never_asked(
    anon: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, fresh_state: Any
) -> None:
    from benchmarks.providers import reachability

    settings.ENV_PROVIDERS = {
        "openai": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-x"},
    }

    def no_probe(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("/health must not call a provider")

    monkeypatch.setattr(reachability, "probe", no_probe)
    assert anon.get("/health").json()["providers"]["openai"]["status"] == "unknown"
    reachability._write("openai", (False, time.time(), None, "ConnectError: refused"))
    fresh_state.forget()
    seen = anon.get("/health").json()["providers"]["openai"]
    assert seen["status"] == "error" and "refused" in seen["error"]


def test_health_never_waits_for_a_slow_inspect(
    anon: Any, monkeypatch: pytest.MonkeyPatch, fresh_state: Any
) -> None:
    from leaderboard_site.celery import app as celery_app

    monkeypatch.undo()
    fresh_state.forget()

    class SlowInspect:
        def __init__(self, timeout: float) -> None:
            pass

        def active_queues(self) -> dict[str, Any]:
            time.sleep(1.0)  # a broadcast waits out its whole timeout for the answers
            return {"default@a": [{"name": "default"}]}

    monkeypatch.setattr(celery_app.control, "inspect", SlowInspect)
    started = time.monotonic()
    assert anon.get("/health").json()["workers"] == {"status": "checking"}
    assert time.monotonic() - started < 0.8
    time.sleep(1.2)  # the answer arrives on its own thread
    health.forget()
    started = time.monotonic()
    assert anon.get("/health").json()["workers"]["default"] == ["default@a"]
    assert time.monotonic() - started < 0.5
