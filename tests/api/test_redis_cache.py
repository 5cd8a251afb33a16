"""The Redis cache backend: every context's backend shares the process's client and pools."""

from __future__ import annotations

import pytest
from django.core.cache import caches

pytestmark = pytest.mark.needs_redis


def test_a_backend_per_request_context_opens_no_new_connection() -> None:
    # Django's `cache` is per context: under ASGI each request's task makes its own backend.
    first = caches.create_connection("default")
    first.set("shared-client-probe", 7)
    pool = first._cache.get_client().connection_pool
    opened = pool._created_connections
    backends = [caches.create_connection("default") for _ in range(20)]
    assert [backend.get("shared-client-probe") for backend in backends] == [7] * 20
    assert all(backend._cache is first._cache for backend in backends)
    assert pool._created_connections == opened  # the idle connection, reused each time
