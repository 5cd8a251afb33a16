"""GraphQL subscriptions: the /ws topics' events as subscription results, over the socket at
`/graphql` (consumers.py). Each subscription joins the channel-layer groups /ws would join for
its topic (so the same visibility rules hold) and yields the events it asks for: there is one
event path, `realtime.publish`.

`timestamp` is the event's time in milliseconds since the epoch (a Float: an Int has 32 bits).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from channels.db import database_sync_to_async
from strawberry.types import Info

from benchmarks.models import Benchmark
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import NotFound, Unauthorized
from leaderboard_site.realtime import topics

ENDED = frozenset({"completed", "failed", "cancelled", "stopped"})


@strawberry.type(description="A benchmark run's status and progress (benchmark.progress).")
class BenchmarkProgressEvent:
    benchmark_id: strawberry.ID
    status: str
    progress: float
    items_done: int
    items_total: int
    timestamp: float


@strawberry.type(description="An evaluation request's status change (submission.status).")
class SubmissionStatusEvent:
    model: str
    revision: str
    precision: str
    previous: str | None
    status: str
    timestamp: float


@strawberry.type(description="A new version of the served leaderboard (leaderboard.updated).")
class LeaderboardUpdatedEvent:
    raw: str | None = strawberry.field(description="The raw list's content hash.")
    formatted: str | None = strawberry.field(description="The formatted list's content hash.")
    entries: int
    built_at: float = strawberry.field(description="When it was built (Unix seconds).")
    timestamp: float


@strawberry.type(description="A model's vote counts after its votes changed (votes.updated).")
class VotesUpdatedEvent:
    model: str
    total_votes: int
    up_votes: int
    down_votes: int
    score: int
    timestamp: float


@database_sync_to_async
def _owner_of(benchmark_id: str) -> int | None:
    try:
        key = uuid.UUID(benchmark_id)
    except ValueError:
        return None
    return Benchmark.objects.filter(pk=key).values_list("owner_id", flat=True).first()


def _make(kind: Any, message: dict[str, Any]) -> Any:
    fields = {
        name: message["data"].get(name) for name in kind.__annotations__ if name != "timestamp"
    }
    return kind(**fields, timestamp=float(message["timestamp"]))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="A run's progress until it ends (its owner, admins).")
    async def benchmark_progress(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[BenchmarkProgressEvent, None]:
        ws, context = info.context.ws, info.context
        if ws.identity is None:
            raise Unauthorized("Sign in to follow a benchmark run.")
        owner = await _owner_of(str(id))
        user_id, role = ws.identity
        if owner is None or (owner != user_id and role != Role.ADMIN):  # as REST: 404
            raise NotFound(f"Benchmark {id} not found.", details={"benchmark_id": str(id)})
        wanted = str(id)
        mine = lambda data: data.get("benchmark_id") == wanted  # noqa: E731
        async for message in ws.events(context, topics.BENCHMARK_PROGRESS, mine):
            event = _make(BenchmarkProgressEvent, message)
            yield event
            if event.status in ENDED:
                return

    @strawberry.subscription(description="A model's evaluation requests' status (anyone).")
    async def submission_status(
        self, info: Info, model: str
    ) -> AsyncGenerator[SubmissionStatusEvent, None]:
        ws = info.context.ws
        async for message in ws.events(info.context, topics.SUBMISSION_STATUS,
                                       lambda data: data.get("model") == model):  # fmt: skip
            yield _make(SubmissionStatusEvent, message)

    @strawberry.subscription(description="Each new version of the leaderboard (anyone).")
    async def leaderboard_updated(
        self, info: Info
    ) -> AsyncGenerator[LeaderboardUpdatedEvent, None]:
        ws = info.context.ws
        async for message in ws.events(info.context, topics.LEADERBOARD_UPDATED, lambda _: True):
            yield _make(LeaderboardUpdatedEvent, message)

    @strawberry.subscription(
        description="A model's vote counts as votes change, at most once a second (anyone)."
    )
    async def votes_updated(
        self, info: Info, model: str
    ) -> AsyncGenerator[VotesUpdatedEvent, None]:
        ws = info.context.ws
        async for message in ws.events(info.context, topics.VOTES_UPDATED,
                                       lambda data: data.get("model") == model):  # fmt: skip
            yield _make(VotesUpdatedEvent, message)
