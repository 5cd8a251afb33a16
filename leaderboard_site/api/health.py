"""Checks behind /health: each returns {"status": "up"|"down", "latency_ms", "error"?}."""

from __future__ import annotations

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


def run_checks() -> dict[str, dict[str, Any]]:
    return {name: _timed(check) for name, check in CHECKS.items()}


def overall(checks: dict[str, dict[str, Any]]) -> str:
    down = {name for name, result in checks.items() if result["status"] != "up"}
    if down & CRITICAL:
        return "unhealthy"
    return "degraded" if down else "healthy"
