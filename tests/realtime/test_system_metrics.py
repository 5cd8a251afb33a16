"""`system.metrics` (admins: requests/s, p95, queues, workers, every few seconds, from the
numbers of /metrics), the sockets and events /metrics counts, and the request id on events."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from leaderboard_site.metrics import exposition, state
from leaderboard_site.realtime import topics
from leaderboard_site.realtime.publish import publish
from tests.conftest import make_user
from tests.realtime.test_events import connect, jwt_for, run, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["channel layer", "database relay"])
def _delivery(request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch):
    settings.REALTIME_RELAY = request.param == "database relay"
    settings.REALTIME_RELAY_INTERVAL = 0.02
    settings.SYSTEM_METRICS_INTERVAL = 0.2
    state.forget()
    monkeypatch.setattr(
        state.workers_alive,
        "read",
        lambda: {"default": ["default@a"], "benchmarks": [], "evaluation": []},
    )


def sample(name: str, **labels: str) -> float:
    for family in exposition.registry(scrape=False).collect():
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


def admin_headers() -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {jwt_for(make_user('root', 'admin'))}".encode())]


def test_admins_get_the_system_metrics_every_few_seconds() -> None:
    headers = admin_headers()

    async def scenario() -> None:
        socket = await connect(headers=headers)
        ack = await subscribe(socket, "system.metrics")
        assert ack["topics"] == ["system.metrics"]
        first = await socket.receive_json_from(timeout=5)
        assert first["topic"] == "system.metrics"

        def traffic() -> None:
            client = APIClient()
            for _ in range(10):
                client.get("/health/live")

        await sync_to_async(traffic)()
        second = await socket.receive_json_from(timeout=5)
        while second["data"]["requests_total"] - first["data"]["requests_total"] < 10:
            second = await socket.receive_json_from(timeout=5)  # a tick during the traffic
        data = second["data"]
        assert set(data) == {"host", "interval_seconds", "requests_per_second", "p95_latency_ms",
                             "requests_total", "queue_depth", "workers_alive"}  # fmt: skip
        assert data["requests_total"] - first["data"]["requests_total"] >= 10
        assert data["requests_per_second"] > 0 and data["p95_latency_ms"] > 0
        assert set(data["queue_depth"]) == {"benchmarks", "default", "evaluation"}
        assert all(isinstance(depth, int) for depth in data["queue_depth"].values())
        assert data["workers_alive"] == {"benchmarks": 0, "default": 1, "evaluation": 0}
        # At most one event per interval and machine, however many processes tick.
        assert second["timestamp"] - first["timestamp"] >= 900
        await socket.send_json_to({"type": "unsubscribe", "topics": ["system.metrics"]})
        assert (await socket.receive_json_from(timeout=5))["type"] == "ack"
        assert await socket.receive_nothing(timeout=1.5)
        await socket.disconnect()

    run(scenario)


def test_only_admins_may_subscribe() -> None:
    alice = make_user("alice", "user")

    async def scenario() -> None:
        user = await connect(f"/ws?token={jwt_for(alice)}")
        refused = await subscribe(user, "system.metrics")
        assert (refused["code"], refused["details"]) == (
            "FORBIDDEN",
            {"topics": ["system.metrics"]},
        )
        anonymous = await connect()
        assert (await subscribe(anonymous, "system.metrics"))["code"] == "UNAUTHORIZED"
        assert await user.receive_nothing(timeout=0.5)
        for socket in (user, anonymous):
            await socket.disconnect()

    run(scenario)
    assert topics.SYSTEM_METRICS in topics.ADMINS


def test_sockets_and_events_are_counted() -> None:
    opened = sample("websocket_connections_opened_total")
    open_now = sample("websocket_connections")
    sent = sample("websocket_events_sent_total", topic="leaderboard.updated")

    async def scenario() -> None:
        sockets = [await connect() for _ in range(3)]
        assert sample("websocket_connections") - open_now == 3
        for socket in sockets[:2]:
            await subscribe(socket, "leaderboard.updated")
        await sync_to_async(publish)(topics.LEADERBOARD_UPDATED, {"raw": "x"})
        for socket in sockets[:2]:
            assert (await socket.receive_json_from(timeout=5))["topic"] == "leaderboard.updated"
        for socket in sockets:
            await socket.disconnect()

    run(scenario)
    assert sample("websocket_connections_opened_total") - opened == 3
    assert sample("websocket_connections") == open_now
    assert sample("websocket_events_sent_total", topic="leaderboard.updated") - sent == 2


def test_an_event_names_the_request_that_caused_it() -> None:
    from leaderboard_site.api.context import request_id_var

    async def scenario() -> None:
        socket = await connect()
        await subscribe(socket, "leaderboard.updated")

        def in_a_request() -> None:
            request_id_var.set("req-caused-it")  # as the middleware does
            publish(topics.LEADERBOARD_UPDATED, {"raw": "a"})
            request_id_var.set(None)
            publish(topics.LEADERBOARD_UPDATED, {"raw": "b"})  # outside any request

        await sync_to_async(in_a_request)()
        first = await socket.receive_json_from(timeout=5)
        second = await socket.receive_json_from(timeout=5)
        assert (first["data"], first["request_id"]) == ({"raw": "a"}, "req-caused-it")
        assert second["data"] == {"raw": "b"} and "request_id" not in second
        await socket.disconnect()

    run(scenario)
