"""Django's Redis cache, keeping its clients and sharing them across the process.

Django's `RedisCacheClient.get_client` makes a `redis.Redis` per operation, and each one builds
its table of ~170 response callbacks: about 0.15 ms of CPU on every cache read, more than the
round trip itself. A `redis.Redis` is thread-safe over its connection pool, so one per pool is
enough.

And Django's `cache` is per context: under ASGI every request's task gets its own backend, whose
client would open its own connection pool, so every request would pay a new Redis connection.
The backends of one configuration share one client (and so its pools) in the process.

A Redis that stops answering (a hung host, a full network) costs each caller a socket timeout
(REDIS_TIMEOUT): after one failure the process's clients fail at once for OUTAGE_SECONDS
(`outage`), so that a request needing Redis gets its 503 in well under a second, and the callers
that can do without Redis (the lists' version, the rate limiter) go on without waiting.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from django.utils.functional import cached_property

_shared: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


OUTAGE_SECONDS = 1.0


class Outage:
    """When this process last saw Redis fail to answer; for OUTAGE_SECONDS after that, callers
    do not wait for it again (the first call after them tries Redis anew)."""

    def __init__(self) -> None:
        self._until = 0.0

    def down(self) -> bool:
        return time.monotonic() < self._until

    def failed(self) -> None:
        self._until = time.monotonic() + OUTAGE_SECONDS

    def reset(self) -> None:
        """Forget a failure seen (Redis known to be back, or a test starting afresh)."""
        self._until = 0.0


outage = Outage()
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)


class RedisSkipped(redis.ConnectionError):
    """Not tried: Redis failed to answer less than OUTAGE_SECONDS ago."""


class WatchedRedis(redis.Redis):
    """A client that records failures in `outage` and, during one, fails without a round trip."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if outage.down():
            raise RedisSkipped("Redis did not answer a moment ago")
        try:
            return super().execute_command(*args, **options)
        except UNAVAILABLE:
            outage.failed()
            raise


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client = WatchedRedis
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            with _lock:
                client = self._clients.setdefault(
                    id(pool),
                    self._client(connection_pool=pool),  # type: ignore[attr-defined]
                )
        return client

    def _get_connection_pool(self, write: bool) -> Any:
        pool = self._pools.get(self._get_connection_pool_index(write))  # type: ignore[attr-defined]
        if pool is None:
            with _lock:  # two threads must not each make the pool of one server
                pool = super()._get_connection_pool(write)  # type: ignore[misc]
        return pool


class RedisCache(DjangoRedisCache):
    def client(self) -> Any:
        """The process's `redis.Redis` behind this cache, for what the cache API lacks
        (publishing)."""
        return self._cache.get_client(write=True)

    @cached_property
    def _cache(self) -> RedisCacheClient:
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = repr((servers, sorted(options.items())))
        client = _shared.get(key)
        if client is None:
            with _lock:
                client = _shared.setdefault(key, RedisCacheClient(servers, **options))
        return client
