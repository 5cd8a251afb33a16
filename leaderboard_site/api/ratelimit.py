"""Token buckets: `rate` tokens per second refill a bucket of `burst`; a request takes one.

With Redis the bucket lives there and is updated atomically by one Lua script (Redis's own clock),
so every web process shares it. Without Redis each process keeps its buckets in memory, and so
it does while Redis does not answer when RATE_LIMIT_FAIL_OPEN (the default; otherwise those
requests get a 503).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings

from leaderboard_site.api.errors import ServiceUnavailable
from leaderboard_site.redis_cache import UNAVAILABLE, RedisSkipped, WatchedRedis

logger = logging.getLogger(__name__)

_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens), tostring(now)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: float  # the sustained rate per second
    remaining: int
    reset: int  # epoch seconds when the bucket is full again
    retry_after: int  # seconds until one token is back (0 when allowed)


def _decision(allowed: bool, tokens: float, now: float, rate: float, burst: int) -> Decision:
    reset = math.ceil(now + (burst - tokens) / rate)
    retry_after = 0 if allowed else max(1, math.ceil((1 - tokens) / rate))
    return Decision(allowed, rate, int(tokens), reset, retry_after)


@cache
def _redis_script():  # type: ignore[no-untyped-def]
    import redis

    timeout = settings.REDIS_TIMEOUT
    # A pool of its own, not redis.Redis's defaults: those retry a timeout ten times.
    pool = redis.ConnectionPool.from_url(
        str(settings.RATE_LIMIT_REDIS_URL), socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return WatchedRedis(connection_pool=pool).register_script(_SCRIPT)


class _LocalBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, burst: int) -> tuple[bool, float, float]:
        now = time.time()
        with self._lock:
            tokens, ts = self._state.get(key, (float(burst), now))
            tokens = min(burst, tokens + max(0.0, now - ts) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._state[key] = (tokens, now)
            if len(self._state) > 100_000:  # forget idle buckets (they would be full anyway)
                self._state = {k: v for k, v in self._state.items() if now - v[1] < burst / rate}
        return allowed, tokens, now


_local = _LocalBuckets()


def take(key: str, *, rate: float, burst: int) -> Decision:
    """Take one token from the bucket `key`."""
    if settings.RATE_LIMIT_REDIS_URL:
        try:
            allowed, tokens, now = _redis_script()(
                keys=[f"{settings.CACHE_KEY_PREFIX}:rl:{key}"], args=[rate, burst]
            )
            return _decision(bool(allowed), float(tokens), float(now), rate, burst)
        except UNAVAILABLE as exc:
            if not settings.RATE_LIMIT_FAIL_OPEN:
                raise ServiceUnavailable(
                    "The rate limiter is unavailable; try again shortly.",
                    details={"reason": "cache_unavailable"},
                    extra={"retry_after": 1},
                ) from exc
            if not isinstance(exc, RedisSkipped):  # once per try, not once per request
                logger.warning("rate limiter falls back to local buckets: Redis unavailable")
    allowed_local, tokens_local, now_local = _local.take(key, rate, burst)
    return _decision(allowed_local, tokens_local, now_local, rate, burst)


def reset_local() -> None:
    """Forget every in-process bucket (tests, and operators via the shell)."""
    _local._state.clear()
