"""Checks behind /health: each returns {"status": "up"|"down", "latency_ms", "error"?}.

A result is reused for REUSE_SECONDS, so that a burst of /health calls, or one GraphQL document
asking `health` under 15 aliases, checks the database, cache and broker once.

`/health` also reports what an operator wants to see but the server answers without (the Hub,
the mirror's lag, the workers alive per queue, the model providers): `extras()`, each read at
most every few seconds (leaderboard_site/metrics/state.py), none of them deciding the status.
`/health/ready` checks only what serving needs (`READINESS`); `/health/live` checks nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

from leaderboard_site.celery import app as celery_app


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, 1, timeout=5)
    if cache.get(key) != 1:
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache, "broker": _broker}
# The database is required to serve anything; without cache or broker we still serve reads.
CRITICAL = {"database"}
# What an orchestrator waits for before sending traffic: the database and the cache answer.
READINESS = ("database", "cache")


def _timed(check: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        result: dict[str, Any] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
    else:
        result = {"status": "up"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


REUSE_SECONDS = 1.0
_lock = threading.Lock()
_last: tuple[float, dict[str, dict[str, Any]]] | None = None


def run_checks() -> dict[str, dict[str, Any]]:
    """Every check's result, at most REUSE_SECONDS old (callers at the same moment wait for
    the one run in progress rather than start their own)."""
    global _last
    with _lock:
        if _last is None or time.monotonic() - _last[0] >= REUSE_SECONDS:
            checks = {name: _timed(check) for name, check in CHECKS.items()}
            _last = (time.monotonic(), checks)  # from when they ended: slow checks are reused too
        return {name: dict(result) for name, result in _last[1].items()}


def forget() -> None:
    """Check again on the next call, whatever the last result's age."""
    global _last
    _last = None


def overall(checks: dict[str, dict[str, Any]]) -> str:
    down = {name for name, result in checks.items() if result["status"] != "up"}
    if down & CRITICAL:
        return "unhealthy"
    return "degraded" if down else "healthy"


def readiness() -> dict[str, dict[str, Any]]:
    """The checks serving needs, run now (an orchestrator polls every few seconds)."""
    return {name: _timed(CHECKS[name]) for name in READINESS}


def _extra(read: Callable[[], Any]) -> Any:
    try:
        found = read()
    except Exception as exc:  # a report that cannot be read is reported, never a failed /health
        return {"status": "unknown", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "checking"} if found is None else found  # asked, no answer yet


def extras() -> dict[str, Any]:
    """The Hub's reachability, the mirror's lag and last pushes, the workers seen alive per
    queue and the providers' reachability as last seen, each from a short-lived cache."""
    from leaderboard_site.metrics import state

    return {
        "hub": _extra(state.hub),
        "mirror": _extra(state.mirror),
        "workers": _extra(state.workers_alive),
        "providers": _extra(state.providers),
    }
