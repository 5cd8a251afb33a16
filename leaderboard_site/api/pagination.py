"""The Test Bench API's list shape: {items, total, page, page_size, total_pages}."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response

from leaderboard_site.api.errors import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def query_int(request: Request, name: str, *, minimum: int = 0,
              maximum: int = 2**31 - 1) -> int | None:  # fmt: skip
    """An integer query parameter within bounds (400 naming it otherwise); None when absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = int(raw) if raw.isascii() and raw.isdigit() else -1
    if not minimum <= value <= maximum:
        raise ApiError(f"{name} must be an integer from {minimum} to {maximum}.",
                       details={name: raw})  # fmt: skip
    return value


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(f"{name} must be a positive integer.", details={name: raw})
    return value


class PageNumberPagination(pagination.BasePagination):
    """Pages past the end are empty (not 404); page_size is clamped to MAX_PAGE_SIZE."""

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any] | list[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.page = _positive_int(request, "page", 1)
        self.page_size = min(_positive_int(request, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        self.total = len(queryset) if isinstance(queryset, list) else queryset.count()
        start = (self.page - 1) * self.page_size
        return list(queryset[start : start + self.page_size]) if start < self.total else []

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "items": data,
                "total": self.total,
                "page": self.page,
                "page_size": self.page_size,
                "total_pages": math.ceil(self.total / self.page_size) if self.total else 0,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "total", "page", "page_size", "total_pages"],
            "properties": {
                "items": schema,
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "page_size": {"type": "integer"},
                "total_pages": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                    "default": DEFAULT_PAGE_SIZE,
                },
            },
        ]
