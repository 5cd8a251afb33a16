"""Service-level endpoints: health, the OpenAPI schema."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard_site.api import health

STARTED = time.monotonic()


class HealthView(APIView):
    """Liveness and the state of the database, the cache and the task broker."""

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
            },
        )
    )
    def get(self, request: Request) -> Response:
        checks = health.run_checks()
        status = health.overall(checks)
        body: dict[str, Any] = {
            "status": status,
            "version": settings.VERSION,
            "timestamp": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
            "uptime_seconds": int(time.monotonic() - STARTED),
            "checks": checks,
        }
        return Response(body, status=503 if status == "unhealthy" else 200)


class _OnlyRenderer(DefaultContentNegotiation):
    """The view's one renderer, whatever the client accepts."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class OpenApiJsonView(SpectacularAPIView):
    """`/api-docs/openapi.json`: the schema as JSON for every client (drf-spectacular's view
    answers YAML unless asked for JSON)."""

    renderer_classes = [OpenApiJsonRenderer2]
    content_negotiation_class = _OnlyRenderer
