"""Service-level endpoints: health (liveness, readiness), metrics, the OpenAPI schema."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard_site.api import health
from leaderboard_site.api.errors import error_response
from leaderboard_site.metrics import exposition

STARTED = time.monotonic()


def _now() -> str:
    return datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")


class HealthView(APIView):
    """The state of the database, the cache and the task broker (503 when the database is
    down), and what an operator wants to see besides (never failing it)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(["healthy", "degraded", "unhealthy"]),
                "version": serializers.CharField(),
                "timestamp": serializers.DateTimeField(),
                "uptime_seconds": serializers.IntegerField(),
                "checks": serializers.DictField(child=serializers.DictField()),
                "hub": serializers.DictField(help_text="The Hub's reachability (cached 30 s)."),
                "mirror": serializers.DictField(
                    help_text="lag_seconds: each dataset's oldest unpublished change's age; "
                    "last_push: each dataset's last push outcome."
                ),
                "workers": serializers.DictField(
                    help_text="The Celery workers that answered, by queue (cached 15 s)."
                ),
                "providers": serializers.DictField(
                    help_text="Each model provider's reachability as its last call or probe "
                    "saw it (no provider is called)."
                ),
            },
        )
    )
    def get(self, request: Request) -> Response:
        checks = health.run_checks()
        status = health.overall(checks)
        body: dict[str, Any] = {
            "status": status,
            "version": settings.VERSION,
            "timestamp": _now(),
            "uptime_seconds": int(time.monotonic() - STARTED),
            "checks": checks,
            **health.extras(),
        }
        return Response(body, status=503 if status == "unhealthy" else 200)


class LivenessView(APIView):
    """The process answers (nothing else is checked: restarting it would not fix a database)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Liveness",
            {
                "status": serializers.ChoiceField(["alive"]),
                "timestamp": serializers.DateTimeField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "alive", "timestamp": _now()})


class ReadinessView(APIView):
    """The database and the cache answer: send traffic here (503 in the envelope when not)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Readiness",
            {
                "status": serializers.ChoiceField(["ready"]),
                "timestamp": serializers.DateTimeField(),
                "checks": serializers.DictField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request: Request) -> HttpResponseBase:
        checks = health.readiness()
        down = sorted(name for name, result in checks.items() if result["status"] != "up")
        if down:
            return error_response(
                503, f"Not ready: {', '.join(down)} not answering.", details={"checks": checks}
            )
        return Response({"status": "ready", "timestamp": _now(), "checks": checks})


class _OnlyRenderer(DefaultContentNegotiation):
    """The view's one renderer, whatever the client accepts."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _PrometheusRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> Any:  # fmt: skip
        return data


class MetricsView(APIView):
    """Prometheus' text format, every process's samples added up (leaderboard_site/metrics/).
    With METRICS_TOKEN set, only for `Authorization: Bearer <METRICS_TOKEN>`."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []  # the token is ours, not a user's credential
    renderer_classes = [_PrometheusRenderer]
    content_negotiation_class = _OnlyRenderer

    @extend_schema(
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR)},
        description="The Prometheus text exposition format (version 0.0.4): requests by route "
        "and status, errors by code, rate-limit refusals, queue depths and workers alive, task "
        "durations and outcomes, jobs by status, the mirror's lag, the snapshot's age, "
        "WebSocket connections and events. When the server has METRICS_TOKEN set, send "
        "`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).",
    )
    def get(self, request: Request) -> HttpResponseBase:
        if not _metrics_token_matches(request):
            return error_response(
                401,
                "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return HttpResponse(exposition.render(), content_type=exposition.CONTENT_TYPE)


def _metrics_token_matches(request: Request) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), expected)


class OpenApiJsonView(SpectacularAPIView):
    """`/api-docs/openapi.json`: the schema as JSON for every client (drf-spectacular's view
    answers YAML unless asked for JSON)."""

    renderer_classes = [OpenApiJsonRenderer2]
    content_negotiation_class = _OnlyRenderer
