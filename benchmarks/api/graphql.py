"""The Test Bench API's part of /graphql: plugins, createCompletion, createEvaluation.

Inputs are checked by the REST serializers and handed to the same services, so a GraphQL call
and a REST call with the same values give the same result, or the same error.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from django.db.models import QuerySet
from strawberry.scalars import JSON
from strawberry.types import Info

from benchmarks import datasets, selectors, services
from benchmarks.api.serializers import (
    BenchmarkCreateSerializer,
    BenchmarkItemSerializer,
    BenchmarkSerializer,
    CompletionRequestSerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    EvaluationRequestSerializer,
    ProviderSerializer,
)
from benchmarks.api.views import usage_report
from benchmarks.metrics import registry
from benchmarks.models import Benchmark, BenchmarkItem, Completion, Dataset, Evaluation
from leaderboard_site.accounts.roles import Role, at_least
from leaderboard_site.api.context import current_request_id
from leaderboard_site.api.errors import ApiError, NotFound
from leaderboard_site.api.pagination import DEFAULT_PAGE_SIZE
from leaderboard_site.graphql.common import PageInfo, paged, plain, validated
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


@strawberry.type
class DatasetNode:
    name: str
    version: int
    description: str
    source: str
    item_count: int
    created_at: str

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetNode:
        return cls(**DatasetSerializer(dataset).data)


@strawberry.type
class DatasetPage:
    items: list[DatasetNode]
    page_info: PageInfo


@strawberry.type
class BenchmarkItemPage:
    items: list[JSON] = strawberry.field(
        description="as GET /v1/benchmarks/{id}/items: position, target, provider, model, "
        "item_index, prompt, expected, output, correct, scores, latency_ms, prompt_tokens, "
        "completion_tokens, cost, error"
    )
    page_info: PageInfo


OUTCOMES: dict[str, dict[str, Any]] = {"right": {"correct": True, "error": ""},
                                       "wrong": {"correct": False, "error": ""},
                                       "unscored": {"correct": None, "error": ""}}  # fmt: skip


@strawberry.type(description="A benchmark run, as GET /v1/benchmarks/{id}.")
class BenchmarkNode:
    benchmark_id: strawberry.ID
    name: str
    status: str
    progress: float
    results: JSON | None
    providers: JSON
    dataset: JSON
    metrics: JSON
    iterations: int
    concurrency: int
    items_done: int
    items_total: int
    error: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    run: strawberry.Private[Benchmark]

    @classmethod
    def of(cls, benchmark: Benchmark) -> Any:
        return cls(**plain(BenchmarkSerializer(benchmark).data), run=benchmark)


@strawberry.type(description="One benchmark run with its items (on `benchmark(id)` only: a "
                 "list of runs would page each run's items with queries of its own).")  # fmt: skip
class BenchmarkDetail(BenchmarkNode):
    @strawberry.field(description="The run's items in order, paged; `target` (its index) and "
                      "`outcome` (right, wrong, failed, unscored) narrow them.")  # fmt: skip
    def items(
        self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, target: int | None = None,
        outcome: str | None = None,
    ) -> BenchmarkItemPage:  # fmt: skip
        items = BenchmarkItem.objects.filter(benchmark=self.run).select_related("item", "benchmark")
        items = items.order_by("position", "target")
        if target is not None:
            if not 0 <= target < len(self.run.targets):
                raise ApiError(f"target must be an integer from 0 to {len(self.run.targets) - 1}.",
                               details={"target": target})  # fmt: skip
            items = items.filter(target=target)
        if outcome == "failed":
            items = items.exclude(error="")
        elif outcome in OUTCOMES:
            items = items.filter(**OUTCOMES[outcome])
        elif outcome is not None:
            raise ApiError("outcome must be right, wrong, failed or unscored.",
                           details={"outcome": outcome})  # fmt: skip
        rows, info = paged(items, page, page_size)
        return BenchmarkItemPage(items=plain(BenchmarkItemSerializer(rows, many=True).data),
                                 page_info=info)  # fmt: skip


@strawberry.type
class BenchmarkPage:
    items: list[BenchmarkNode]
    page_info: PageInfo


def _benchmarks(info: Info) -> QuerySet[Benchmark]:
    """The caller's runs (admins: everybody's), newest first, as GET /v1/benchmarks."""
    require(info, Role.VIEWER)
    principal = info.context.principal
    runs = Benchmark.objects.select_related("dataset").order_by("-created_at")
    return runs if principal.role == Role.ADMIN else runs.filter(owner=principal.user)


def _benchmark(info: Info, id: str) -> Benchmark | None:
    try:
        ident = uuid.UUID(id)
    except ValueError:
        return None
    return _benchmarks(info).filter(pk=ident).first()


@strawberry.input
class TargetInput:
    provider: str
    model: str


@strawberry.input
class BenchmarkInput:
    name: str
    providers: list[TargetInput]
    dataset: str
    dataset_version: int | None = None
    metrics: list[str] | None = None
    iterations: int | None = None
    concurrency: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    system: str | None = None


@strawberry.input
class DatasetInput:
    name: str
    content: str
    format: str = strawberry.field(description="jsonl, json or csv")
    description: str | None = None
    schema: str | None = strawberry.field(default=None, description="items (default) or mmlu")


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

    @strawberry.field(description="Your benchmark runs, newest first (admins: everybody's; "
                      "role viewer).")  # fmt: skip
    def benchmarks(
        self, info: Info, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> BenchmarkPage | None:
        rows, page_info = paged(_benchmarks(info), page, page_size)
        return BenchmarkPage(items=[BenchmarkNode.of(b) for b in rows], page_info=page_info)

    @strawberry.field(description="One of your runs with its results and items; null when "
                      "there is none (role viewer).")  # fmt: skip
    def benchmark(self, info: Info, id: str) -> BenchmarkDetail | None:
        run = _benchmark(info, id)
        return None if run is None else BenchmarkDetail.of(run)

    @strawberry.field(description="Every dataset version (role viewer).")
    def datasets(
        self, info: Info, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> DatasetPage | None:
        require(info, Role.VIEWER)
        rows, page_info = paged(Dataset.objects.all(), page, page_size)
        return DatasetPage(items=[DatasetNode.of(d) for d in rows], page_info=page_info)

    @strawberry.field(description="A dataset's version (default: the latest); null when there "
                      "is none (role viewer).")  # fmt: skip
    def dataset(self, info: Info, name: str, version: int | None = None) -> DatasetNode | None:
        require(info, Role.VIEWER)
        versions = Dataset.objects.filter(name=name).order_by("-version")
        if version is not None:
            versions = versions.filter(version=version)
        found = versions.first()
        return None if found is None else DatasetNode.of(found)

    @strawberry.field(description="The configured providers, as GET /v1/providers's items "
                      "(role viewer).")  # fmt: skip
    def providers(self, info: Info) -> list[JSON] | None:
        require(info, Role.VIEWER)
        return plain(ProviderSerializer(selectors.providers_listed(), many=True).data)

    @strawberry.field(description="What provider calls cost, as GET /v1/usage (`from`, `to`: "
                      "dates or ISO 8601 datetimes; groupBy: day, provider, model, key; user: "
                      "admins only; role viewer).")  # fmt: skip
    def usage(
        self, info: Info, from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None, group_by: str = "day", user: str | None = None,
    ) -> JSON | None:  # fmt: skip
        require(info, Role.VIEWER)
        params = {"from": from_, "to": to, "group_by": group_by, "user": user}
        return plain(usage_report(info.context.principal, params))


@strawberry.type
class BenchmarksMutation:
    @strawberry.mutation(description="Ask a provider's model, as POST /v1/completions (role user).")
    def create_completion(self, info: Info, input: CompletionInput) -> CompletionResult | None:
        owner = require(info, Role.USER)
        data = validated(CompletionRequestSerializer, vars(input))
        data.pop("stream")
        completion = services.completion_create(
            owner=owner, api_key=info.context.principal.api_key,
            request_id=current_request_id(), **data,
        )  # fmt: skip
        return CompletionResult.of(completion)

    @strawberry.mutation(description="Score an output, as POST /v1/evaluations (role user).")
    def create_evaluation(self, info: Info, input: EvaluationInput) -> EvaluationResult | None:
        owner = require(info, Role.USER)
        data = validated(EvaluationRequestSerializer, vars(input))
        api_key = info.context.principal.api_key
        return EvaluationResult.of(services.evaluation_create(owner=owner, api_key=api_key,
                                                              **data))  # fmt: skip

    @strawberry.mutation(description="Start a benchmark run, as POST /v1/benchmarks (role user).")
    def create_benchmark(self, info: Info, input: BenchmarkInput) -> BenchmarkNode | None:
        owner = require(info, Role.USER)
        values = {**vars(input), "providers": [vars(t) for t in input.providers]}
        data = validated(BenchmarkCreateSerializer, values)
        run = services.benchmark_create(owner=owner, api_key=info.context.principal.api_key,
                                        **data)  # fmt: skip
        return BenchmarkNode.of(run)

    @strawberry.mutation(description="Stop a pending or running run, as "
                         "POST /v1/benchmarks/{id}/cancel (role user; 409 once "
                         "ended).")  # fmt: skip
    def cancel_benchmark(self, info: Info, id: str) -> BenchmarkNode | None:
        require(info, Role.USER)
        run = _benchmark(info, id)
        if run is None:
            raise NotFound("No such benchmark.")
        return BenchmarkNode.of(services.benchmark_cancel(run))

    @strawberry.mutation(description="Upload the next version of a dataset from its text, as "
                         "POST /v1/datasets with `content` (role user).")  # fmt: skip
    def create_dataset(self, info: Info, input: DatasetInput) -> DatasetNode | None:
        user = require(info, Role.USER)
        data = validated(DatasetUploadSerializer, vars(input))
        items = datasets.parse(data["content"].encode(), fmt=data["format"], schema=data["schema"])
        dataset = services.dataset_create(
            name=data["name"], items=items, description=data["description"], source="upload",
            created_by=user, may_extend_any=at_least(info.context.principal.role, Role.ADMIN),
        )  # fmt: skip
        return DatasetNode.of(dataset)
