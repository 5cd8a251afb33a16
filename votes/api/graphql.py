"""Votes on /graphql: a model's counts, the caller's votes, castVote and withdrawVote.

The same selectors, serializers and services as /api/votes, so both APIs count, accept and
refuse the same things.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from leaderboard_site.accounts.roles import Role
from leaderboard_site.graphql.common import validated
from leaderboard_site.graphql.context import require
from leaderboard_site.hub.client import check_repo_id
from votes import selectors, services
from votes.api.serializers import VoteSerializer, VoteTargetSerializer


@strawberry.type
class VoteCounts:
    """A model's counting votes, as GET /api/votes/model/{org}/{name}."""

    total_votes: int
    up_votes: int
    down_votes: int
    score: int
    votes_by_revision: JSON
    votes_by_config: JSON

    @classmethod
    def of(cls, counts: dict[str, Any]) -> VoteCounts:
        return cls(**counts)


@strawberry.type
class VoteNode:
    model_id: str
    vote_type: str
    revision: str
    precision: str
    timestamp: str


@strawberry.type
class CastVoteResult:
    message: str
    vote: VoteNode
    counts: VoteCounts


@strawberry.type
class VotesQuery:
    @strawberry.field(description="A model's vote counts (anyone).")
    def votes(self, model: str) -> VoteCounts:
        return VoteCounts.of(selectors.model_counts(check_repo_id(model)))

    @strawberry.field(description="The caller's votes, newest first (role viewer).")
    def my_votes(self, info: Info) -> list[VoteNode] | None:
        user = require(info, Role.VIEWER)
        return [VoteNode(**vote) for vote in selectors.user_votes(user.username)]


def _target(model: str, serializer_class: type, values: dict[str, Any]) -> tuple[Any, dict]:
    model_name = check_repo_id(model)
    data = validated(serializer_class, values)
    target = services.resolve_target(model_name, data.get("revision"), data.get("precision"))
    return target, data


@strawberry.type
class VotesMutation:
    @strawberry.mutation(description="Vote up or down, or change your vote, as "
                         "POST /api/votes/{org}/{name} (role user).")  # fmt: skip
    def cast_vote(
        self, info: Info, model: str, vote_type: str, revision: str | None = None,
        precision: str | None = None,
    ) -> CastVoteResult | None:  # fmt: skip
        user = require(info, Role.USER)
        values = {"vote_type": vote_type, "revision": revision, "precision": precision}
        target, data = _target(model, VoteSerializer, values)
        vote = services.vote_cast(user=user, target=target, vote_type=data["vote_type"])
        return CastVoteResult(
            message=f"Vote {vote.vote_type} recorded for {target.model_name}.",
            vote=VoteNode(model_id=target.model_name, vote_type=vote.vote_type,
                          revision=target.revision, precision=target.precision,
                          timestamp=vote.updated_at.isoformat().replace("+00:00", "Z")),
            counts=VoteCounts.of(selectors.model_counts(target.model_name)),
        )  # fmt: skip

    @strawberry.mutation(description="Withdraw your vote, as DELETE /api/votes/{org}/{name} "
                         "(role user); true when done.")  # fmt: skip
    def withdraw_vote(
        self, info: Info, model: str, revision: str | None = None, precision: str | None = None
    ) -> bool | None:
        user = require(info, Role.USER)
        target, _ = _target(model, VoteTargetSerializer,
                            {"revision": revision, "precision": precision})  # fmt: skip
        services.vote_withdraw(user=user, target=target)
        return True
