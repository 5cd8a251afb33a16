"""/api/votes: cast, change and withdraw votes; counts per model; a person's votes.

`/api/votes/{org}/{name}` is routed by method, so that models of organizations named `user` or
`model` can be voted on: POST and DELETE always mean the model org/name; GET of `user/{name}`
lists that person's votes (the Open LLM Leaderboard API) and any other GET gives the model's counts.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard.formatting import upstream_api
from leaderboard_site.accounts.permissions import HasRole, acting_user
from leaderboard_site.api.schema import errors, hub_repo_parameters
from leaderboard_site.hub.client import check_repo_id
from votes import selectors, services
from votes.api.serializers import (
    CountsSerializer,
    UserVoteSerializer,
    VoteResponseSerializer,
    VoteSerializer,
    VoteTargetSerializer,
    upstream_counts,
    upstream_user_votes,
    vote_inputs,
)


class PublicReads(BasePermission):
    """Anyone may read; writing needs the role HasRole asks for."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or HasRole().has_permission(request, view)


def _target(request: Request, model_name: str, serializer_class: type) -> Any:
    serializer = serializer_class(data=vote_inputs(request.query_params, request.data))
    serializer.is_valid(raise_exception=True)
    values = serializer.validated_data
    user = acting_user(request, values.get("user_id"))
    target = services.resolve_target(model_name, values.get("revision"), values.get("precision"))
    return user, target, values


def _counts(model_name: str) -> dict[str, Any]:
    counts = selectors.model_counts(check_repo_id(model_name))
    return upstream_counts(counts) if upstream_api() else counts


def _user_votes(username: str) -> list[dict[str, Any]]:
    votes = selectors.user_votes(username)
    return upstream_user_votes(votes, username) if upstream_api() else votes


class ModelVotesView(APIView):
    """/api/votes/{org}/{name}: POST casts or changes a vote, DELETE withdraws it."""

    permission_classes = [PublicReads]

    @extend_schema(
        parameters=hub_repo_parameters("org"),
        responses=PolymorphicProxySerializer(
            component_name="CountsOrUserVotes",
            serializers=[CountsSerializer, UserVoteSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        description="The model's counts; for `user/{user_id}`, that person's votes: "
        "[{model_id, vote_type, revision, precision, timestamp}].",
    )
    def get(self, request: Request, org: str, name: str) -> Response:
        if org == "user":
            return Response(_user_votes(name))
        return Response(_counts(f"{org}/{name}"))

    @extend_schema(
        parameters=hub_repo_parameters("org", "name"),
        request=VoteSerializer,
        responses={201: VoteResponseSerializer, **errors(409)},
    )
    def post(self, request: Request, org: str, name: str) -> Response:
        model_name = check_repo_id(f"{org}/{name}")
        user, target, values = _target(request, model_name, VoteSerializer)
        vote = services.vote_cast(user=user, target=target, vote_type=values["vote_type"])
        body = {
            "success": True,
            "message": f"Vote {vote.vote_type} recorded for {target.model_name}.",
            "vote": {
                "model_id": target.model_name,
                "vote_type": vote.vote_type,
                "revision": target.revision,
                "precision": target.precision,
            },
            "counts": selectors.model_counts(target.model_name),
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=hub_repo_parameters("org", "name"),
        request=VoteTargetSerializer,
        responses={204: None},
    )
    def delete(self, request: Request, org: str, name: str) -> Response:
        model_name = check_repo_id(f"{org}/{name}")
        user, target, _ = _target(request, model_name, VoteTargetSerializer)
        services.vote_withdraw(user=user, target=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CountsView(APIView):
    """GET /api/votes/model/{provider}/{model}: a model's vote counts."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=hub_repo_parameters("provider", "model"), responses=CountsSerializer)
    def get(self, request: Request, provider: str, model: str) -> Response:
        return Response(_counts(f"{provider}/{model}"))
