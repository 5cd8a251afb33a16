"""Service-level endpoints: health."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
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
