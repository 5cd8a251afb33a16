"""request.logs and plugin.events: published only while someone is subscribed, to the callers
who may see them."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from benchmarks.metrics import registry
from leaderboard_site.accounts import services as accounts
from leaderboard_site.realtime import topics, watched
from tests.conftest import client_for, make_user
from tests.realtime.test_events import connect, jwt_for, run, subscribe


@pytest.fixture(params=["channel layer", "database relay"])
def delivery(request: pytest.FixtureRequest, settings: Any) -> None:
    """Both ways events travel. Watched events are sent by a thread of their own, so the
    channel layer must be one that threads share: Redis (in-memory layers live in one loop)."""
    if request.param == "channel layer" and not django_settings.REDIS_URL:
        pytest.skip("needs a Redis server (set REDIS_URL): a thread's events cannot reach an "
                    "in-memory channel layer")  # fmt: skip
    settings.REALTIME_RELAY = request.param == "database relay"
    settings.REALTIME_RELAY_INTERVAL = 0.02


@pytest.fixture(autouse=True)
def _unwatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """No topic seen as watched by an earlier test of this process."""
    monkeypatch.setattr(watched, "_seen", {})


async def events_until(socket: Any, done: Any) -> list[dict[str, Any]]:
    """Events received until one satisfies `done` (the others are the test's own traffic)."""
    seen = []
    while True:
        message = await socket.receive_json_from(timeout=5)
        seen.append(message)
        if message["type"] == "event" and done(message):
            return seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("delivery")
def test_request_logs_reach_the_admins_while_they_watch() -> None:
    admin = make_user("root", "admin")

    async def scenario() -> None:
        socket = await connect(headers=[(b"authorization", f"Bearer {jwt_for(admin)}".encode())])
        ack = await subscribe(socket, "request.logs")
        assert ack["type"] == "ack" and ack["topics"] == ["request.logs"]

        def request() -> None:
            APIClient().get("/health", HTTP_X_REQUEST_ID="watch-me-1")

        await sync_to_async(request)()
        seen = await events_until(socket, lambda e: e["data"]["request_id"] == "watch-me-1")
        line = seen[-1]
        assert line["topic"] == "request.logs" and line["timestamp"] > 0
        assert line["data"] == {"method": "GET", "path": "/health", "status": 200,
                                "duration_ms": line["data"]["duration_ms"],
                                "request_id": "watch-me-1"}  # fmt: skip
        await socket.disconnect()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("delivery")
def test_only_admins_may_watch_the_request_logs() -> None:
    alice = make_user("alice", "user")

    async def scenario() -> None:
        anonymous = await connect()
        refused = await subscribe(anonymous, "request.logs")
        assert (refused["type"], refused["code"]) == ("error", "UNAUTHORIZED")
        user = await connect(f"/ws?token={jwt_for(alice)}")
        refused = await subscribe(user, "request.logs", "submission.status")
        assert (refused["code"], refused["details"]) == ("FORBIDDEN", {"topics": ["request.logs"]})
        await user.send_json_to({"type": "ping"})
        assert (await user.receive_json_from())["type"] == "pong"  # nothing was subscribed
        for socket in (anonymous, user):
            await socket.disconnect()

    run(scenario)
    assert not watched.watched(topics.REQUEST_LOGS)


class CountingCache:
    def __init__(self, cache: Any) -> None:
        self.cache, self.reads = cache, 0

    def get(self, key: str) -> Any:
        self.reads += 1
        return self.cache.get(key)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self.cache.set(*args, **kwargs)


@pytest.mark.django_db
def test_an_unwatched_server_reads_one_flag_a_second_and_publishes_nothing(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingCache(watched.cache)
    monkeypatch.setattr(watched, "cache", counting)

    def no_publisher() -> None:
        raise AssertionError("nothing is queued while nobody watches")

    monkeypatch.setattr(watched, "_publisher", no_publisher)
    monkeypatch.setattr(watched, "CHECK_SECONDS", 3600.0)  # however slow this machine is today
    for _ in range(30):
        assert anon.get("/health").status_code == 200
    assert counting.reads == 1  # then a clock read per request, for CHECK_SECONDS


@pytest.mark.django_db
def test_publishing_stops_when_the_last_watcher_has_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    watched.watch(topics.REQUEST_LOGS)
    assert watched.watched(topics.REQUEST_LOGS)
    monkeypatch.setattr(watched, "CHECK_SECONDS", 0.0)
    watched.cache.delete(watched._key(topics.REQUEST_LOGS))  # as its WATCH_SECONDS run out
    assert not watched.watched(topics.REQUEST_LOGS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("delivery")
def test_plugin_events_reach_the_signed_in() -> None:
    vera, alice = make_user("vera", "viewer"), make_user("alice", "user")
    key = accounts.api_key_create(owner=vera, name="ws").key
    json_valid = registry.plugin_id("json_valid")
    exact = registry.plugin_id("exact_match")

    async def scenario() -> None:
        anonymous = await connect()
        refused = await subscribe(anonymous, "plugin.events")
        assert (refused["code"], refused["details"]) == (
            "UNAUTHORIZED",
            {"topics": ["plugin.events"]},
        )
        socket = await connect(headers=[(b"x-api-key", key.encode())])
        assert (await subscribe(socket, "plugin.events"))["type"] == "ack"

        def execute(plugin_id: Any, case: dict[str, Any]) -> int:
            response = client_for(alice).post(f"/v1/plugins/{plugin_id}/execute",
                                              {"input": case}, format="json")  # fmt: skip
            return response.status_code

        assert await sync_to_async(execute)(json_valid, {"output": "{}"}) == 200
        executed = (await events_until(socket, lambda e: e["data"]["event"] == "executed"))[-1]
        assert executed["topic"] == "plugin.events"
        data = executed["data"]
        assert data == {"event": "executed", "plugin_id": str(json_valid), "name": "json_valid",
                        "version": data["version"], "status": "ready",
                        "execution_time_ms": data["execution_time_ms"]}  # fmt: skip

        # exact_match needs `expected`: the caller's 400, an event without the case's content
        assert await sync_to_async(execute)(exact, {"output": "secret words"}) == 400
        failed = (await events_until(socket, lambda e: e["data"]["event"] == "failed"))[-1]["data"]
        assert (failed["event"], failed["name"]) == ("failed", "exact_match")
        assert failed["error"] == {"code": "BAD_REQUEST", "status": 400}
        assert "secret" not in str(failed)

        await sync_to_async(registry.plugins.cache_clear)()
        await sync_to_async(registry.plugins)()  # a process loading its plugins
        loaded = await events_until(socket, lambda e: e["data"]["name"] == "json_valid")
        assert {e["data"]["event"] for e in loaded} == {"loaded"}
        for each in (anonymous, socket):
            await each.disconnect()

    run(scenario)
