"""/v1/completions, /v1/evaluations, /v1/benchmarks (yours, and only yours: listed, shown,
deleted, a run exported), /v1/plugins, /v1/datasets, /v1/providers and /v1/usage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q, QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from benchmarks import datasets, providers, selectors, services, spend
from benchmarks.api.export import FORMATS, export_response
from benchmarks.api.serializers import (
    BenchmarkCompareSerializer,
    BenchmarkCreateSerializer,
    BenchmarkItemSerializer,
    BenchmarkSerializer,
    CompletionRequestSerializer,
    CompletionSerializer,
    DatasetItemSerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    EvaluationRequestSerializer,
    EvaluationResultSerializer,
    PluginExecuteSerializer,
    PluginResultSerializer,
    PluginSerializer,
    ProviderModelsSerializer,
    ProviderSerializer,
    UsageReportSerializer,
)
from benchmarks.api.streaming import stream_completion
from benchmarks.metrics import registry
from benchmarks.models import Benchmark, Completion, Dataset, Evaluation
from leaderboard_site.accounts.authentication import Principal, principal_of
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role, at_least
from leaderboard_site.api.context import current_request_id
from leaderboard_site.api.errors import ApiError, Forbidden, NotFound
from leaderboard_site.api.owned import OwnerScoped
from leaderboard_site.api.pagination import PageNumberPagination, query_int
from leaderboard_site.api.schema import errors, example, sse_event


class OwnedViewSet(
    OwnerScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Things people own: listed, shown and deleted by their owner (admins: everybody's);
    somebody else's is 404."""

    model: type[Completion] | type[Evaluation] | type[Benchmark]

    def create_owned(
        self, request: Request, body_class: type[Serializer], create: Callable[..., Any]
    ) -> Response:
        """Parse the body, have `create` make the caller's object, answer 201 with it."""
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        assert principal is not None
        created = create(owner=principal.user, api_key=principal.api_key, **body.validated_data)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


class CompletionViewSet(OwnedViewSet):
    serializer_class = CompletionSerializer
    model = Completion

    def perform_destroy(self, instance: Completion) -> None:
        services.completion_delete(completion=instance)

    @extend_schema(
        request=CompletionRequestSerializer,
        responses={
            201: CompletionSerializer,
            (200, "text/event-stream"): sse_event(
                'JSON: {"type": "delta", "text"} pieces, then {"type": "completion", ...} '
                "(the stored completion), then the text [DONE]"
            ),
            **errors(402, 502),
        },
        examples=example({"provider": "openai", "model": "gpt-4o-mini", "prompt": "Say hi."}),
        description="Ask `model` of a configured provider. 400 for an unknown provider or "
        "model, 402 BUDGET_EXCEEDED when the call could pass a spend cap (details: scope, "
        "period, cap, spent, reserved, needed, resets_at; the provider is not asked), "
        "502 PROVIDER_ERROR when the provider fails after its retries. With "
        "`stream: true` the answer comes as server-sent events (text/event-stream): "
        '`data: {"type": "delta", "text"}` pieces, then `data: {"type": "completion", ...}`, '
        "then `data: [DONE]`.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        body = CompletionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        assert principal is not None
        data = dict(body.validated_data)
        if data.pop("stream"):
            return stream_completion(
                owner=principal.user, api_key=principal.api_key,
                provider=providers.get(data.pop("provider")),
                request_id=current_request_id(), **data,
                asgi=isinstance(request._request, ASGIRequest),
            )  # fmt: skip
        completion = services.completion_create(
            owner=principal.user, api_key=principal.api_key, request_id=current_request_id(),
            **data,
        )  # fmt: skip
        return Response(CompletionSerializer(completion).data, status=status.HTTP_201_CREATED)


class EvaluationViewSet(OwnedViewSet):
    serializer_class = EvaluationResultSerializer
    model = Evaluation

    def perform_destroy(self, instance: Evaluation) -> None:
        services.evaluation_delete(evaluation=instance)

    @extend_schema(
        request=EvaluationRequestSerializer,
        responses={201: EvaluationResultSerializer, **errors(402, 422, 502, 504)},
        examples=example(
            {"output": "Paris", "expected": "paris", "metrics": ["exact_match", "f1"]}
        ),
        description="Score an output with metrics (evaluator plugins): exact_match, contains, "
        "regex, f1, rouge_l, bleu, json_valid, latency, and the LLM-judged faithfulness, "
        "relevance, coherence (400 naming JUDGE_PROVIDER/JUDGE_MODEL when no judge is set).",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.create_owned(request, EvaluationRequestSerializer, services.evaluation_create)


UUID_PATTERN = r"[0-9a-fA-F-]{32,36}"


class BenchmarkViewSet(OwnedViewSet):
    """Benchmark runs: created here, run by a worker (the `benchmarks` queue)."""

    serializer_class = BenchmarkSerializer
    model = Benchmark
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().select_related("dataset")

    def get_object(self) -> Benchmark:
        try:
            return super().get_object()
        except DjangoValidationError as exc:  # not a UUID
            raise NotFound("No such benchmark.") from exc

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        if self.action == "export":  # `format` names the file's format here, not a renderer
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(description="Delete a run and its items; a pending or running one is "
                   "cancelled first (its worker stops within a second).")  # fmt: skip
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Benchmark) -> None:
        services.benchmark_delete(benchmark=instance)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS), default="csv")],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
        },
        description="The run's items as a file, streamed: CSV (a header row, then one row per "
        'item; `scores` as JSON) or JSONL (a first `{"type": "benchmark"}` line with the run '
        'and its results, then one `{"type": "item"}` line per item). Columns: '
        "position, target, provider, model, item_index, prompt, expected, output, outcome "
        "(right, wrong, failed, unscored), correct, scores, latency_ms, prompt_tokens, "
        "completion_tokens, cost, error.",
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> HttpResponseBase:
        fmt = request.query_params.get("format", "csv")
        if fmt not in FORMATS:
            raise ApiError("format must be csv or jsonl.", details={"format": fmt})
        benchmark = self.get_object()
        return export_response(
            benchmark, fmt=fmt, head=BenchmarkSerializer(benchmark).data,
            asgi=isinstance(request._request, ASGIRequest),
            gzip="gzip" in request.headers.get("Accept-Encoding", ""),
        )  # fmt: skip

    @extend_schema(
        request=BenchmarkCreateSerializer,
        responses={201: BenchmarkSerializer},
        examples=example(
            {
                "name": "smoke",
                "dataset": "arithmetic",
                "iterations": 4,
                "providers": [{"provider": "openai", "model": "gpt-4o-mini"}],
            }
        ),
        description="Start a run: each provider's model answers `iterations` items of the "
        "dataset (latest version unless `dataset_version`), `concurrency` calls at a time, on "
        "a worker. Poll GET /v1/benchmarks/{id} or subscribe to `benchmark.progress`.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.create_owned(request, BenchmarkCreateSerializer, services.benchmark_create)

    @extend_schema(
        parameters=[
            OpenApiParameter("target", int, description="only this target (its index)"),
            OpenApiParameter("outcome", str, enum=["right", "wrong", "failed", "unscored"]),
        ],
        responses=BenchmarkItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def items(self, request: Request, pk: str) -> Response:
        benchmark = self.get_object()
        items = benchmark.items.select_related("item", "benchmark").order_by("position", "target")
        target = query_int(request, "target", maximum=len(benchmark.targets) - 1)
        if target is not None:
            items = items.filter(target=target)
        outcome = request.query_params.get("outcome")
        if outcome is not None:
            filters: dict[str, dict[str, Any]] = {"right": {"correct": True, "error": ""},
                       "wrong": {"correct": False, "error": ""},
                       "unscored": {"correct": None, "error": ""}}  # fmt: skip
            if outcome == "failed":
                items = items.exclude(error="")
            elif outcome in filters:
                items = items.filter(**filters[outcome])
            else:
                raise ApiError("outcome must be right, wrong, failed or unscored.",
                               details={"outcome": outcome})  # fmt: skip
        page = self.paginate_queryset(items)
        return self.get_paginated_response(BenchmarkItemSerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: BenchmarkSerializer, **errors(409)},
                   description="Stop a pending or running run; 409 when it has ended.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        benchmark = services.benchmark_cancel(self.get_object())
        return Response(BenchmarkSerializer(benchmark).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("a", OpenApiTypes.UUID, required=True),
            OpenApiParameter("b", OpenApiTypes.UUID, required=True),
        ],
        responses={200: BenchmarkCompareSerializer, **errors(404)},
        description="Per paired target (same provider and model; or the two single targets), "
        "every figure of a and b with its delta b - a, and the items whose outcome changed.",
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        runs = []
        for name in ("a", "b"):
            raw = request.query_params.get(name, "")
            try:
                ident = uuid.UUID(raw)
            except ValueError as exc:
                raise ApiError(f"{name} must be a benchmark id.", details={name: raw}) from exc
            run = self.get_queryset().filter(pk=ident).first()
            if run is None:
                raise NotFound(f"No such benchmark: {name}.", details={name: raw})
            runs.append(run)
        return Response(selectors.benchmark_compare(*runs))


PLUGIN_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH,
    examples=[OpenApiExample("exact_match", value=str(registry.plugin_id("exact_match")))],
)  # fmt: skip


class PluginViewSet(viewsets.ViewSet):
    """Evaluator plugins, discovered through the `leaderboard.evaluators` entry points."""

    pagination_class = PageNumberPagination  # the list's page, as the schema documents it

    @extend_schema(responses=PluginSerializer(many=True))
    def list(self, request: Request) -> Response:
        rows = [selectors.plugin_row(p) for p in registry.plugins().values()]
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(PluginSerializer(page, many=True).data)

    @extend_schema(parameters=[PLUGIN_ID], responses=PluginSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PluginSerializer(selectors.plugin_row(registry.by_id(_uuid(pk)))).data)

    @extend_schema(
        parameters=[PLUGIN_ID],
        request=PluginExecuteSerializer,
        responses={200: PluginResultSerializer, **errors(402, 422, 502, 504)},
        examples=example({"input": {"output": "Paris", "expected": "paris"}}),
    )
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str) -> Response:
        body = PluginExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plugin = registry.by_id(_uuid(pk))
        with spend.metering(spend.Meter(spend.Payer.of(principal_of(request)))):  # judges' calls
            result, elapsed = registry.run(plugin, registry.case_from(body.validated_data["input"]))
        return Response({
            "output": {"score": result.score, "details": result.details},
            "execution_time_ms": round(elapsed, 3),
            "request_id": current_request_id(),
        })  # fmt: skip


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("No such plugin.", details={"id": value}) from exc


class DatasetViewSet(viewsets.GenericViewSet):
    """Datasets are shared: anyone signed in reads them, users upload new versions."""

    lookup_field = "name"
    lookup_value_regex = r"[-\w]+"
    parser_classes = [JSONParser, MultiPartParser]
    serializer_class = DatasetSerializer

    def get_queryset(self) -> QuerySet[Dataset]:
        return Dataset.objects.all()

    def _version(self, name: str) -> Dataset:
        versions = Dataset.objects.filter(name=name).order_by("-version")
        version = query_int(self.request, "version", minimum=1)
        if version is not None:
            versions = versions.filter(version=version)
        dataset = versions.first()
        if dataset is None:
            raise NotFound(f"No dataset {name!r}" + (f" version {version}." if version else "."))
        return dataset

    @extend_schema(responses=DatasetSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DatasetSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="default: the latest")],
        responses=DatasetSerializer,
    )
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(DatasetSerializer(self._version(name)).data)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="default: the latest")],
        responses=DatasetItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def items(self, request: Request, name: str) -> Response:
        items = self._version(name).items.order_by("index")
        page = self.paginate_queryset(items)
        return self.get_paginated_response(DatasetItemSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="default: every version")],
        responses={204: None, **errors(409)},
        description="Delete your dataset (admins: any; the shipped ones are admins' only): "
        "every version, or `version`. 403 for somebody else's (datasets are readable by "
        "everyone). A version that benchmark runs used is kept: 409 naming them "
        "(`details.benchmarks`: yours; `details.others`: how many are somebody else's).",
    )
    def destroy(self, request: Request, name: str) -> Response:
        principal = principal_of(request)
        assert principal is not None
        services.dataset_delete(
            name=name, user=principal.user, version=query_int(request, "version", minimum=1),
            may_delete_any=at_least(principal.role, Role.ADMIN),
        )  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=DatasetUploadSerializer,
        responses={201: DatasetSerializer},
        examples=example(
            {
                "name": "capitals",
                "format": "jsonl",
                "content": '{"prompt": "Capital of France?", "expected": "Paris"}',
            }
        ),
        description="Upload a JSONL, JSON or CSV file (multipart `file`, or `content` and "
        "`format` in JSON) as the next version of `name`. Bad rows are refused with their "
        "line numbers in error.details.errors; nothing is stored then.",
    )
    def create(self, request: Request) -> Response:
        body = DatasetUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data.get("file")
        raw = upload.read() if upload is not None else data["content"].encode()
        fmt = data.get("format") or datasets.format_of(upload.name)
        items = datasets.parse(raw, fmt=fmt, schema=data["schema"])
        principal = principal_of(request)
        dataset = services.dataset_create(
            name=data["name"], items=items, description=data["description"],
            source=upload.name if upload is not None else "upload",
            created_by=principal.user if principal else None,
            may_extend_any=bool(principal and at_least(principal.role, Role.ADMIN)),
        )  # fmt: skip
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class ProviderViewSet(viewsets.ViewSet):
    """The configured model providers: what GET /v1/completions and runs may name."""

    lookup_field = "name"
    lookup_value_regex = r"[-\w]+"
    pagination_class = PageNumberPagination

    @extend_schema(
        responses=ProviderSerializer(many=True),
        description="The configured providers (the admin's, then the environment's): kind, "
        "base URL host, whether a key is set (never the key), concurrency cap, timeout, the "
        "models with a price (USD per million input and output tokens), and the last seen "
        "reachability (the latest of its last call and beat's probe of its model list).",
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.providers_listed(), request, view=self)
        return paginator.get_paginated_response(ProviderSerializer(page, many=True).data)

    @extend_schema(
        responses=ProviderModelsSerializer,
        description="A provider's models: those with a price and, when it answers, those its "
        "own model list names (the probe's answer, cached; asked now when there is none).",
    )
    @action(detail=True, methods=["get"])
    def models(self, request: Request, name: str) -> Response:
        return Response(ProviderModelsSerializer(selectors.provider_models(name)).data)


USAGE_PARAMETERS = [
    OpenApiParameter(
        "from", str, description="a date or an ISO 8601 datetime (default: this month's start)"
    ),
    OpenApiParameter("to", str, description="a date (included whole) or a datetime (excluded)"),
    OpenApiParameter("group_by", str, enum=list(selectors.USAGE_GROUPS), default="day"),
    OpenApiParameter("user", str, description="admins: a user's id or username, or `all`"),
]


class UsageView(APIView):
    """What provider calls cost: the caller's (admins: anybody's, or everybody's)."""

    @extend_schema(
        parameters=USAGE_PARAMETERS,
        responses={200: UsageReportSerializer, **errors(403, 404)},
        description="Every provider call (completions, LLM-judge calls, benchmark run items) "
        "totalled per day (UTC), provider, model or API key, and overall: calls, input and "
        "output tokens, cost in USD. Calls of models without a price count tokens only: "
        "`unpriced_calls` counts them and `cost_complete` is false. Records outlive the "
        "completions and runs they served.",
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        assert principal is not None
        return Response(usage_report(principal, request.query_params))


def usage_report(principal: Any, params: Any) -> Any:
    """GET /v1/usage's answer (GraphQL's `usage` too) for `from`, `to`, `group_by` and `user`
    in `params`; 400 for a bad group or window."""
    group_by = params.get("group_by") or "day"
    if group_by not in selectors.USAGE_GROUPS:
        raise ApiError("group_by must be day, provider, model or key.",
                       details={"group_by": group_by})  # fmt: skip
    now = timezone.now()
    start = _moment(params, "from") or now.replace(day=1, hour=0, minute=0, second=0,
                                                   microsecond=0)  # fmt: skip
    end = _moment(params, "to", end_of_day=True) or now
    if start >= end:
        raise ApiError("from must be before to.", details={"from": str(start), "to": str(end)})
    totals = selectors.usage_totals(
        user_id=_usage_user(principal, params.get("user")), start=start, end=end,
        group_by=group_by,
    )  # fmt: skip
    return UsageReportSerializer(totals).data


def _moment(params: Any, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A query parameter's date (its midnight, or the next one for an end) or datetime."""
    raw = params.get(name)
    if not raw:
        return None
    moment: datetime | None
    try:
        day = parse_date(raw) if len(raw) == len("YYYY-MM-DD") else None
        if day is not None:
            moment = datetime.combine(day + timedelta(days=end_of_day), time.min, tzinfo=UTC)
        else:
            moment = parse_datetime(raw)
    except (ValueError, OverflowError):  # out of range (a day after 9999-12-31...)
        moment = None
    if moment is None:
        raise ApiError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 datetime.",
                       details={name: raw})  # fmt: skip
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _usage_user(principal: Principal, asked: str | None) -> int | None:
    """Whose usage: the caller's; an admin's choice of anybody's (None: everybody's)."""
    me = principal.user
    if not asked or asked in {str(me.pk), me.username}:
        return int(me.pk)
    if principal.role != Role.ADMIN:
        raise Forbidden("You may see only your own usage.", details={"user": asked})
    if asked == "all":
        return None
    found = User.objects.filter(Q(username=asked) | Q(pk=int(asked) if asked.isdigit() else None))
    user = found.first()
    if user is None:
        raise NotFound(f"No user {asked!r}.", details={"user": asked})
    return int(user.pk)
