"""GraphQL subscriptions over `graphql-transport-ws` at /graphql, through the real ASGI
application: the protocol, credentials, visibility, the frame limits, and each subscription's
events (the same ones /ws gets)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from benchmarks.models import Benchmark
from leaderboard import snapshot
from leaderboard_site.accounts import services as accounts
from leaderboard_site.asgi import application
from leaderboard_site.realtime import watched
from submissions import services as submissions
from tests.conftest import make_user
from tests.realtime.test_events import jwt_for, run, two_items
from tests.submissions.test_status import make_request
from votes import services as votes

pytestmark = pytest.mark.django_db(transaction=True)
PROTOCOL = "graphql-transport-ws"


@pytest.fixture(autouse=True, params=["channel layer", "database relay"])
def delivery(request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch):
    """Both ways events travel. Votes are announced by a thread, whose events reach an
    in-memory channel layer only through the database relay."""
    settings.REALTIME_RELAY = request.param == "database relay"
    settings.REALTIME_RELAY_INTERVAL = 0.02
    monkeypatch.setattr(watched, "_seen", {})
    return request.param


async def open_socket(path: str = "/graphql", headers: list[tuple[bytes, bytes]] | None = None,
                      payload: dict[str, Any] | None = None) -> WebsocketCommunicator:  # fmt: skip
    socket = WebsocketCommunicator(application, path, headers=headers or [],
                                   subprotocols=[PROTOCOL])  # fmt: skip
    connected, subprotocol = await socket.connect()
    assert connected and subprotocol == PROTOCOL
    await socket.send_json_to({"type": "connection_init", "payload": payload or {}})
    return socket


async def acked(socket: WebsocketCommunicator) -> WebsocketCommunicator:
    assert await socket.receive_json_from(timeout=5) == {"type": "connection_ack"}
    return socket


async def start(socket: WebsocketCommunicator, query: str, op: str = "1", **variables: Any):
    await socket.send_json_to({"id": op, "type": "subscribe",
                               "payload": {"query": query, "variables": variables}})  # fmt: skip


async def settle() -> None:
    """Let the subscription join its groups before the event is published."""
    await asyncio.sleep(0.1)


PROGRESS = "subscription($id: ID!) { benchmarkProgress(id: $id) { benchmarkId status progress itemsDone itemsTotal timestamp } }"  # noqa: E501


STATUS = "subscription($m: String!) { submissionStatus(model: $m) { model revision precision previous status timestamp } }"  # noqa: E501


def test_submission_status_next_then_complete() -> None:
    request, other = make_request("acme/tiny"), make_request("acme/other")

    async def scenario() -> None:
        socket = await acked(await open_socket())  # anonymous
        await start(socket, STATUS, m="acme/tiny")
        await settle()
        await sync_to_async(submissions.request_cancel)(other)  # another model: not sent
        await sync_to_async(submissions.request_cancel)(request)
        message = await socket.receive_json_from(timeout=5)
        assert message["id"] == "1" and message["type"] == "next"
        event = message["payload"]["data"]["submissionStatus"]
        assert event["timestamp"] > 1_700_000_000_000
        assert {k: v for k, v in event.items() if k != "timestamp"} == {
            "model": "acme/tiny", "revision": "a" * 40, "precision": "bfloat16",
            "previous": "PENDING", "status": "CANCELLED"}  # fmt: skip
        await socket.send_json_to({"id": "1", "type": "complete"})
        assert await socket.receive_nothing(timeout=0.2)
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from() == {"type": "pong"}
        await socket.disconnect()

    run(scenario)


def test_benchmark_progress_reaches_its_owner_and_admins_only(llm) -> None:
    alice, bob = make_user("alice", "user"), make_user("bob", "user")
    admin_key = accounts.api_key_create(owner=make_user("root", "admin"), name="gql").key
    run_ = Benchmark.objects.create(owner=alice, name="mine", dataset=two_items(), iterations=2,
                                    targets=[{"provider": "openai", "model": "tiny"}])  # fmt: skip

    async def scenario() -> None:
        mine = await acked(await open_socket(payload={"Authorization": f"Bearer {jwt_for(alice)}"}))
        admin = await acked(await open_socket(f"/graphql?token={admin_key}"))
        bearer = f"Bearer {jwt_for(bob)}".encode()
        theirs = await acked(await open_socket(headers=[(b"authorization", bearer)]))
        anonymous = await acked(await open_socket())
        for socket in (mine, admin, theirs, anonymous):
            await start(socket, PROGRESS, id=str(run_.pk))
        # Refused as REST refuses (somebody else's run is 404): a result with the error, then
        # the end of the subscription.
        for socket, code in ((theirs, "NOT_FOUND"), (anonymous, "UNAUTHORIZED")):
            refused = await socket.receive_json_from(timeout=5)
            assert (refused["type"], refused["payload"]["data"]) == ("next", None)
            assert refused["payload"]["errors"][0]["extensions"]["code"] == code
            assert await socket.receive_json_from() == {"id": "1", "type": "complete"}
        await settle()

        from benchmarks import runner

        assert await sync_to_async(runner.run)(run_.pk) == "completed"
        seen = [await mine.receive_json_from(timeout=5) for _ in range(4)]
        assert [m["type"] for m in seen] == ["next", "next", "next", "complete"]
        last = seen[2]["payload"]["data"]["benchmarkProgress"]
        assert (last["benchmarkId"], last["status"], last["progress"], last["itemsDone"],
                last["itemsTotal"]) == (str(run_.pk), "completed", 1.0, 2, 2)  # fmt: skip
        watched_ = [await admin.receive_json_from(timeout=5) for _ in range(4)]
        assert watched_[-1] == {"id": "1", "type": "complete"}
        for socket in (theirs, anonymous):  # nothing of alice's run
            assert await socket.receive_nothing(timeout=0.2)
        for socket in (mine, admin, theirs, anonymous):
            await socket.disconnect()

    run(scenario)


def test_leaderboard_updated_on_a_new_snapshot() -> None:
    async def scenario() -> None:
        socket = await acked(await open_socket())
        await start(socket, "subscription { leaderboardUpdated { raw formatted entries builtAt } }")
        await settle()
        await sync_to_async(snapshot.snapshot_rebuild)()
        message = await socket.receive_json_from(timeout=5)
        event = message["payload"]["data"]["leaderboardUpdated"]
        assert event["entries"] == 0 and len(event["raw"]) == 32 and event["builtAt"] > 0
        await sync_to_async(snapshot.snapshot_rebuild)()  # the same data: no new version
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_votes_updated_for_one_model(delivery: str) -> None:
    if delivery == "channel layer" and not django_settings.REDIS_URL:
        pytest.skip("the announcing thread's events reach an in-memory layer only by the relay")
    alice, bob = make_user("alice", "user"), make_user("bob", "user")

    async def scenario() -> None:
        socket = await acked(await open_socket())
        await start(socket, "subscription($m: String!) { votesUpdated(model: $m) "
                    "{ model totalVotes upVotes downVotes score } }", m="acme/voted")  # fmt: skip
        await settle()
        target = votes.Target("acme/voted", "b" * 40, "bfloat16")
        await sync_to_async(votes.vote_cast)(user=alice, target=target, vote_type="up")
        first = (await socket.receive_json_from(timeout=5))["payload"]["data"]["votesUpdated"]
        assert first == {"model": "acme/voted", "totalVotes": 1, "upVotes": 1, "downVotes": 0,
                         "score": 1}  # fmt: skip
        other = votes.Target("acme/unwatched", "b" * 40, "bfloat16")
        await sync_to_async(votes.vote_cast)(user=alice, target=other, vote_type="up")
        # (The in-memory test database locks whole tables: let the announcing thread finish
        # with it before the next vote writes.)
        await asyncio.sleep(0.3)
        await sync_to_async(votes.vote_cast)(user=bob, target=target, vote_type="down")
        second = (await socket.receive_json_from(timeout=5))["payload"]["data"]["votesUpdated"]
        assert (second["model"], second["totalVotes"], second["score"]) == ("acme/voted", 2, 0)
        await socket.disconnect()

    run(scenario)


def test_bad_credentials_close_the_socket_as_on_ws() -> None:
    async def scenario() -> None:
        socket = await open_socket(payload={"Authorization": "Bearer not-a-jwt"})
        closed = await socket.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4401)
        socket = await open_socket(payload={"X-API-Key": "ltb_" + "0" * 32})
        assert (await socket.receive_output(timeout=5))["code"] == 4401
        socket = await open_socket("/graphql?token=not-a-jwt")
        assert (await socket.receive_output(timeout=5))["code"] == 4401

    run(scenario)


def test_oversize_frames_and_deep_json_are_refused() -> None:
    settings = django_settings

    async def scenario() -> None:
        socket = await acked(await open_socket())
        await socket.send_to(text_data="x" * (settings.WS_MAX_FRAME_BYTES + 1))
        closed = await socket.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", 1009)

        socket = await acked(await open_socket())
        deep = "[" * (settings.MAX_JSON_DEPTH + 1) + "]" * (settings.MAX_JSON_DEPTH + 1)
        await socket.send_to(text_data='{"type": "ping", "payload": ' + deep + "}")
        closed = await socket.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4400)
        assert "nest" in closed["reason"] or "deep" in closed["reason"]

        socket = await acked(await open_socket())
        await socket.send_to(text_data="{not json")
        assert (await socket.receive_output(timeout=5))["code"] == 4400

    run(scenario)


def test_only_subscriptions_over_the_socket_and_the_protocol_is_required() -> None:
    async def scenario() -> None:
        socket = await acked(await open_socket())
        await start(socket, "{ version }")
        refused = await socket.receive_json_from(timeout=5)
        assert refused["type"] == "error" and refused["id"] == "1"
        assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        await start(socket, "subscription { nope }", op="2")
        invalid = await socket.receive_json_from(timeout=5)
        assert invalid["type"] == "error" and invalid["id"] == "2"
        await socket.disconnect()

        early = WebsocketCommunicator(application, "/graphql", subprotocols=[PROTOCOL])
        await early.connect()
        await start(early, "subscription { leaderboardUpdated { entries } }")
        assert (await early.receive_output(timeout=5))["code"] == 4401  # no connection_init

    run(scenario)


def test_a_subscription_sent_by_http_is_a_400(anon) -> None:
    query = {"query": "subscription { leaderboardUpdated { entries } }"}
    for response in (anon.post("/graphql", query, format="json"), anon.get("/graphql", query)):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BAD_REQUEST"
        assert "subscriptions are not allowed" in response.json()["error"]["message"]


def test_a_revoked_key_closes_the_socket_at_its_next_subscription() -> None:
    created = accounts.api_key_create(owner=make_user("alice", "user"), name="gql")

    async def scenario() -> None:
        socket = await acked(await open_socket(payload={"X-API-Key": created.key}))
        await sync_to_async(accounts.api_key_revoke)(api_key=created.api_key)
        await start(socket, "subscription { leaderboardUpdated { entries } }")
        closed = await socket.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4401)

    run(scenario)
