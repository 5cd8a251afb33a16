"""leaderboard.updated (a new version of the served lists) and votes.updated (a model's counts
after its votes change, at most once a second a model, and only while someone listens)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from leaderboard import snapshot
from leaderboard_site.realtime import watched
from leaderboard_site.realtime.models import RelayedEvent
from tests.conftest import make_user
from tests.realtime.test_events import connect, run, subscribe
from votes import services as votes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["channel layer", "database relay"])
def delivery(request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch):
    settings.REALTIME_RELAY = request.param == "database relay"
    settings.REALTIME_RELAY_INTERVAL = 0.02
    monkeypatch.setattr(watched, "_seen", {})
    return request.param


def threaded(delivery: str) -> None:
    """Votes are announced by a thread: its events reach an in-memory layer only by the relay."""
    if delivery == "channel layer" and not django_settings.REDIS_URL:
        pytest.skip("needs a Redis server (set REDIS_URL): a thread's events cannot reach an "
                    "in-memory channel layer")  # fmt: skip


def test_leaderboard_updated_when_the_snapshot_version_changes() -> None:
    async def scenario() -> None:
        socket = await connect()
        assert (await subscribe(socket, "leaderboard.updated"))["topics"] == ["leaderboard.updated"]
        await sync_to_async(snapshot.snapshot_rebuild)()
        event = await socket.receive_json_from(timeout=5)
        assert event["topic"] == "leaderboard.updated" and event["timestamp"] > 0
        data = event["data"]
        assert set(data) == {"raw", "formatted", "entries", "built_at"} and data["entries"] == 0
        await sync_to_async(snapshot.snapshot_rebuild)()  # nothing changed: no event
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_votes_updated_per_model_coalesced_within_a_second(delivery: str) -> None:
    threaded(delivery)
    people = [make_user(f"voter{n}", "user") for n in range(3)]
    target = votes.Target("acme/hot", "c" * 40, "bfloat16")

    async def scenario() -> None:
        socket = await connect()  # anonymous: a public topic
        await subscribe(socket, "votes.updated")
        await sync_to_async(votes.vote_cast)(user=people[0], target=target, vote_type="up")
        first = await socket.receive_json_from(timeout=5)  # a quiet model's first: at once
        assert first["topic"] == "votes.updated"
        assert first["data"] == {"model": "acme/hot", "total_votes": 1, "up_votes": 1,
                                 "down_votes": 0, "score": 1}  # fmt: skip
        await asyncio.sleep(0.2)  # (the in-memory test database locks whole tables)
        await sync_to_async(votes.vote_cast)(user=people[1], target=target, vote_type="down")
        await sync_to_async(votes.vote_withdraw)(user=people[0], target=target)
        # Both within the second: one event at its end, with the counts after the last.
        second = await socket.receive_json_from(timeout=5)
        assert second["data"] == {"model": "acme/hot", "total_votes": 1, "up_votes": 0,
                                  "down_votes": 1, "score": -1}  # fmt: skip
        assert second["timestamp"] - first["timestamp"] >= 900
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_votes_are_not_announced_while_nobody_listens(settings: Any) -> None:
    settings.REALTIME_RELAY = True
    target = votes.Target("acme/quiet", "d" * 40, "bfloat16")
    votes.vote_cast(user=make_user("alice", "user"), target=target, vote_type="up")
    assert not RelayedEvent.objects.exists()
