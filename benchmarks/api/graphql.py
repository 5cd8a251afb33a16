"""The Test Bench API's part of /graphql: plugins, createCompletion, createEvaluation.

Inputs are checked by the REST serializers and handed to the same services, so a GraphQL call
and a REST call with the same values give the same result, or the same error.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from rest_framework.serializers import Serializer
from strawberry.scalars import JSON
from strawberry.types import Info

from benchmarks import selectors, services
from benchmarks.api.serializers import CompletionRequestSerializer, EvaluationRequestSerializer
from benchmarks.metrics import registry
from benchmarks.models import Completion, Evaluation
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.context import current_request_id
from leaderboard_site.api.errors import NotFound
from leaderboard_site.graphql.context import require


@strawberry.type
class PluginNode:
    id: str
    name: str
    version: str
    plugin_type: str
    status: str
    description: str

    @classmethod
    def of(cls, plugin: registry.Plugin) -> PluginNode:
        row = selectors.plugin_row(plugin)
        return cls(**{**row, "id": str(row["id"])})


@strawberry.type
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@strawberry.type
class CompletionResult:
    id: strawberry.ID
    text: str
    model: str
    provider: str
    request_id: str
    created_at: datetime
    usage: Usage
    latency_ms: float
    cost: float | None = strawberry.field(
        description="USD from the pricing table; null when the model has no price"
    )

    @classmethod
    def of(cls, completion: Completion) -> CompletionResult:
        return cls(
            id=strawberry.ID(str(completion.pk)), text=completion.text, model=completion.model,
            provider=completion.provider, request_id=completion.request_id,
            created_at=completion.created_at, latency_ms=completion.latency_ms,
            cost=None if completion.cost is None else float(completion.cost),
            usage=Usage(prompt_tokens=completion.prompt_tokens,
                        completion_tokens=completion.completion_tokens,
                        total_tokens=completion.total_tokens),
        )  # fmt: skip


@strawberry.type
class EvaluationResult:
    score: float
    evaluation_id: str
    created_at: datetime
    metrics: JSON
    details: JSON
    provider: str
    model: str

    @classmethod
    def of(cls, evaluation: Evaluation) -> EvaluationResult:
        return cls(
            score=evaluation.score, evaluation_id=str(evaluation.pk),
            created_at=evaluation.created_at, metrics=evaluation.metrics,
            details=evaluation.details, provider=evaluation.provider, model=evaluation.model,
        )  # fmt: skip


@strawberry.input
class CompletionInput:
    provider: str
    model: str
    prompt: str
    max_tokens: int | None = None
    temperature: float | None = None
    system: str | None = None


@strawberry.input
class EvaluationInput:
    provider: str
    model: str
    input: str
    output: str
    metrics: list[str]
    expected: str | None = None
    context: str | None = None
    latency_ms: float | None = None
    parameters: JSON | None = strawberry.field(
        default=None, description="a metric's options, e.g. {pattern} for regex"
    )


def _validated(serializer_class: type[Serializer], given: object) -> dict[str, Any]:
    """The input checked by the REST serializer (same bounds, same 400 details)."""
    data = {name: value for name, value in vars(given).items() if value is not None}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@strawberry.type
class BenchmarksQuery:
    # The role-guarded root fields are nullable (the Test Bench API types this one
    # `[PluginNode!]!`): a refused field is null with its error, and the fields the caller may
    # see keep their data.
    @strawberry.field(description="Evaluator plugins (role viewer; null when refused).")
    def plugins(self, info: Info) -> list[PluginNode] | None:
        require(info, Role.VIEWER)
        return [PluginNode.of(plugin) for plugin in registry.plugins().values()]

    @strawberry.field(description="One plugin by id; null when there is none (role viewer).")
    def plugin(self, info: Info, id: str) -> PluginNode | None:
        require(info, Role.VIEWER)
        try:
            return PluginNode.of(registry.by_id(uuid.UUID(id)))
        except (ValueError, NotFound):
            return None


@strawberry.type
class BenchmarksMutation:
    @strawberry.mutation(description="Ask a provider's model, as POST /v1/completions (role user).")
    def create_completion(self, info: Info, input: CompletionInput) -> CompletionResult | None:
        owner = require(info, Role.USER)
        data = _validated(CompletionRequestSerializer, input)
        data.pop("stream")
        completion = services.completion_create(
            owner=owner, api_key=info.context.principal.api_key,
            request_id=current_request_id(), **data,
        )  # fmt: skip
        return CompletionResult.of(completion)

    @strawberry.mutation(description="Score an output, as POST /v1/evaluations (role user).")
    def create_evaluation(self, info: Info, input: EvaluationInput) -> EvaluationResult | None:
        owner = require(info, Role.USER)
        data = _validated(EvaluationRequestSerializer, input)
        api_key = info.context.principal.api_key
        return EvaluationResult.of(services.evaluation_create(owner=owner, api_key=api_key,
                                                              **data))  # fmt: skip
