"""The `/ws` event stream through the real ASGI application and channel layer (Redis in CI):
credentials, subscriptions, and events reaching their owners and nobody else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from benchmarks import services as bench_services
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, Dataset
from leaderboard_site.accounts import services as accounts
from leaderboard_site.accounts import tokens
from leaderboard_site.asgi import application
from leaderboard_site.realtime import bridge
from submissions import services as submissions
from tests.conftest import client_for, make_user
from tests.submissions.test_status import make_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["channel layer", "database relay"])
def _delivery(request: pytest.FixtureRequest, settings: Any) -> None:
    """Every test runs both ways events travel: straight through the channel layer (Redis in
    CI) and through the database relay of the embedded default."""
    settings.REALTIME_RELAY = request.param == "database relay"
    settings.REALTIME_RELAY_INTERVAL = 0.02


def run(test: Callable[..., Awaitable[None]], *args: Any) -> None:
    async def scenario() -> None:
        try:
            await test(*args)
        finally:
            await bridge.stop()

    async_to_sync(scenario)()


def jwt_for(user: Any) -> str:
    return tokens.issue(username=user.username, role=user.role)[0]


async def connect(path: str = "/ws", headers: list[tuple[bytes, bytes]] | None = None):
    socket = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await socket.connect()
    assert connected
    return socket


async def subscribe(socket: WebsocketCommunicator, *names: str) -> dict[str, Any]:
    await socket.send_json_to({"type": "subscribe", "topics": list(names), "request_id": "r1"})
    return await socket.receive_json_from(timeout=5)


def two_items() -> Dataset:
    """(Transactional tests start from an empty database: no shipped datasets.)"""
    items = [Item("What is 1 + 1?", {}, "2"), Item("What is 2 + 2?", {}, "4")]
    return bench_services.dataset_create(name="ws-data", items=items)


def test_anonymous_callers_subscribe_to_public_topics_and_ping() -> None:
    async def scenario() -> None:
        socket = await connect()
        ack = await subscribe(socket, "submission.status")
        assert ack == {"type": "ack", "request_id": "r1", "message": "Subscribed to 1 topic(s)",
                       "topics": ["submission.status"]}  # fmt: skip
        await socket.send_json_to({"type": "ping", "timestamp": 1710936000000})
        pong = await socket.receive_json_from()
        assert pong["type"] == "pong" and pong["timestamp"] == 1710936000000  # the client's own
        assert pong["server_timestamp"] > 1_700_000_000_000
        await socket.send_json_to({"type": "ping"})  # no timestamp of its own: the server's
        pong = await socket.receive_json_from()
        assert pong["timestamp"] == pong["server_timestamp"] > 1_700_000_000_000
        refused = await subscribe(socket, "benchmark.progress")
        assert (refused["type"], refused["code"]) == ("error", "UNAUTHORIZED")
        await socket.send_json_to({"type": "unsubscribe", "topics": ["submission.status"]})
        assert (await socket.receive_json_from())["topics"] == []
        await socket.disconnect()

    run(scenario)


def test_bad_messages_get_an_error_and_the_socket_stays_open() -> None:
    async def scenario() -> None:
        socket = await connect()
        await socket.send_to(text_data="{not json")
        assert (await socket.receive_json_from())["code"] == "INVALID_MESSAGE"
        await socket.send_json_to({"type": "dance"})
        assert (await socket.receive_json_from())["code"] == "INVALID_MESSAGE"
        await socket.send_json_to({"type": "subscribe", "topics": "benchmark.progress"})
        assert (await socket.receive_json_from())["code"] == "INVALID_MESSAGE"
        unknown = await subscribe(socket, "system.gossip")
        assert unknown["code"] == "UNKNOWN_TOPIC"
        assert "benchmark.progress" in unknown["details"]["known"]
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from())["type"] == "pong"
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/ws?token=not-a-jwt", []),
        ("/ws", [(b"authorization", b"Bearer not-a-jwt")]),
        ("/ws", [(b"x-api-key", b"ltb_" + b"0" * 32)]),
    ],
)
def test_bad_credentials_are_refused_with_close_code_4401(path, headers) -> None:
    async def scenario() -> None:
        socket = WebsocketCommunicator(application, path, headers=headers)
        await socket.connect()
        error = await socket.receive_json_from()
        assert (error["type"], error["code"]) == ("error", "UNAUTHORIZED")
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_benchmark_progress_reaches_its_owner_and_admins_only(llm) -> None:
    alice, bob = make_user("alice", "user"), make_user("bob", "user")
    admin = make_user("root", "admin")
    bob_key = accounts.api_key_create(owner=bob, name="ws").key
    admin_key = accounts.api_key_create(owner=admin, name="ws").key
    dataset = two_items()
    run_ = Benchmark.objects.create(owner=alice, name="mine", dataset=dataset, iterations=2,
                                    targets=[{"provider": "openai", "model": "tiny"}])  # fmt: skip

    async def scenario() -> None:
        mine = await connect(headers=[(b"authorization", f"Bearer {jwt_for(alice)}".encode())])
        theirs = await connect(f"/ws?token={bob_key}")
        watcher = await connect(headers=[(b"x-api-key", admin_key.encode())])
        for socket in (mine, theirs, watcher):
            assert (await subscribe(socket, "benchmark.progress"))["type"] == "ack"

        from benchmarks import runner

        assert await sync_to_async(runner.run)(run_.pk) == "completed"
        seen = [await mine.receive_json_from(timeout=5) for _ in range(3)]
        assert [e["data"]["status"] for e in seen] == ["running", "running", "completed"]
        assert seen[-1]["data"] == {"benchmark_id": str(run_.pk), "status": "completed",
                                    "progress": 1.0, "items_done": 2, "items_total": 2}  # fmt: skip
        assert seen[0]["topic"] == "benchmark.progress" and seen[0]["timestamp"] > 0
        assert (await watcher.receive_json_from(timeout=5))["data"]["benchmark_id"] == str(run_.pk)
        assert await theirs.receive_nothing(timeout=0.3)  # bob sees nothing of alice's
        for socket in (mine, theirs, watcher):
            await socket.disconnect()

    run(scenario)


def test_evaluation_results_and_submission_statuses_are_published() -> None:
    alice = make_user("alice", "user")
    request = make_request("acme/tiny")

    async def scenario() -> None:
        mine = await connect(f"/ws?token={jwt_for(alice)}")
        public = await connect()
        await subscribe(mine, "evaluation.results")
        await subscribe(public, "submission.status")

        def evaluate() -> str:
            response = client_for(alice).post(
                "/v1/evaluations", {"output": "{}", "metrics": ["json_valid"]}, format="json"
            )
            return response.json()["evaluation_id"]

        evaluation_id = await sync_to_async(evaluate)()
        event = await mine.receive_json_from(timeout=5)
        assert event["topic"] == "evaluation.results"
        assert event["data"]["evaluation_id"] == evaluation_id and event["data"]["score"] == 1.0

        assert await sync_to_async(submissions.request_cancel)(request)
        status = await public.receive_json_from(timeout=5)
        assert status["topic"] == "submission.status"
        assert status["data"] == {"model": "acme/tiny", "revision": "a" * 40,
                                  "precision": "bfloat16", "previous": "PENDING",
                                  "status": "CANCELLED"}  # fmt: skip
        for socket in (mine, public):
            await socket.disconnect()

    run(scenario)


def test_a_run_created_through_the_api_is_announced_when_a_worker_claims_it(llm) -> None:
    alice = make_user("alice", "user")
    two_items()
    created = bench_services.benchmark_create(
        owner=alice, name="x", providers=[{"provider": "openai", "model": "tiny"}],
        dataset="ws-data", metrics=["accuracy"], iterations=1,
    )  # fmt: skip

    async def scenario() -> None:
        socket = await connect(f"/ws?token={jwt_for(alice)}")
        await subscribe(socket, "benchmark.progress")
        await sync_to_async(bench_services.benchmark_claim)(created.pk, token="t")
        event = await socket.receive_json_from(timeout=5)
        assert event["data"]["status"] == "running" and event["data"]["progress"] == 0.0
        await socket.disconnect()

    run(scenario)


def test_a_revoked_key_or_a_changed_role_ends_the_sockets_access() -> None:
    alice = make_user("alice", "admin")
    created = accounts.api_key_create(owner=alice, name="ws")

    async def scenario() -> None:
        by_key = await connect(f"/ws?token={created.key}")
        by_jwt = await connect(f"/ws?token={jwt_for(alice)}")
        for socket in (by_key, by_jwt):
            assert (await subscribe(socket, "benchmark.progress"))["type"] == "ack"

        await sync_to_async(accounts.api_key_revoke)(api_key=created.api_key)
        refused = await subscribe(by_key, "submission.status")
        assert (refused["type"], refused["code"]) == ("error", "UNAUTHORIZED")
        assert await by_key.receive_output() == {"type": "websocket.close", "code": 4401}

        def demote() -> None:
            alice.role = "viewer"
            alice.save(update_fields=["role"])
            accounts.forget_principals()

        await sync_to_async(demote)()
        refused = await subscribe(by_jwt, "submission.status")
        assert refused["code"] == "UNAUTHORIZED" and "changed" in refused["message"]
        assert await by_jwt.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)
