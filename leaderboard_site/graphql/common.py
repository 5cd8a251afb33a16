"""What the apps' GraphQL parts share: REST's serializers for inputs, REST's pages for lists, and
a per-request batch loader so nested lists cost one query per level, not one per row."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import strawberry
from rest_framework.serializers import Serializer
from rest_framework.utils.encoders import JSONEncoder

from leaderboard_site.api.errors import ApiError
from leaderboard_site.api.pagination import MAX_PAGE_SIZE

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def validated(serializer_class: type[Serializer], data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked by the REST serializer (same bounds, same 400 details); None values are
    left out, as a REST body would leave them out."""
    serializer = serializer_class(data={k: v for k, v in data.items() if v is not None})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def plain(data: Any) -> Any:
    """A serializer's data as REST's JSON renders it (decimals as numbers, dates as text), for
    JSON fields."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """(offset, size) of a page; a page or page size out of range is REST's 400."""
    if page < 1:
        raise ApiError("page must be a positive integer.", details={"page": page})
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(f"pageSize must be an integer from 1 to {MAX_PAGE_SIZE}.",
                       details={"pageSize": page_size})  # fmt: skip
    return (page - 1) * page_size, page_size


@strawberry.type
class PageInfo:
    total: int
    page: int
    page_size: int
    total_pages: int

    @classmethod
    def of(cls, total: int, page: int, page_size: int) -> PageInfo:
        return cls(total=total, page=page, page_size=page_size,
                   total_pages=math.ceil(total / page_size) if total else 0)  # fmt: skip


def paged(rows: Any, page: int, page_size: int) -> tuple[list[Any], PageInfo]:
    """One page of a queryset or list, and REST's counts (a page past the end is empty)."""
    start, size = page_bounds(page, page_size)
    total = len(rows) if isinstance(rows, list) else rows.count()
    items = list(rows[start : start + size]) if start < total else []
    return items, PageInfo.of(total, page, page_size)


class Batch(Generic[K, V]):
    """The values of every key of a list, loaded at the first one asked (a synchronous
    DataLoader: the view executes synchronously, and a list's keys are known when it is built)."""

    def __init__(self, keys: Iterable[K], load: Callable[[list[K]], dict[K, V]], default: V):
        self.keys = list(dict.fromkeys(keys))
        self.load = load
        self.default = default
        self.values: dict[K, V] | None = None

    def get(self, key: K) -> V:
        if self.values is None:
            self.values = self.load(self.keys)
        return self.values.get(key, self.default)
