"""Discovering evaluators through the entry-point group, and running one in isolation."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from django.conf import settings
from django.db import connections

from benchmarks.metrics.base import Case, Evaluator, NeedsExpected, Result
from leaderboard_site.api.errors import ApiError, NotFound

logger = logging.getLogger(__name__)

GROUP = "leaderboard.evaluators"
NAMESPACE = uuid.UUID("6f1d0c1e-2f55-4a43-9d0e-4b8f3c1a7e21")


def _new_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="plugin")


_pool = _new_pool()


@dataclass(frozen=True)
class Plugin:
    id: uuid.UUID
    name: str
    version: str
    description: str
    evaluator: Evaluator | None
    error: str = ""

    @property
    def status(self) -> str:
        return "ready" if self.evaluator is not None else "error"


def after_fork() -> None:
    """In a forked process the parent's pool threads do not exist: start a pool of its own."""
    global _pool
    _pool = _new_pool()


def plugin_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


@cache
def plugins() -> dict[str, Plugin]:
    """Every evaluator the installed packages declare, by name; one that fails to load is listed
    with status "error" and its message, and the others still work."""
    found: dict[str, Plugin] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        try:
            evaluator = point.load()
            found[point.name] = Plugin(
                plugin_id(point.name), point.name, str(getattr(evaluator, "version", "0")),
                str(getattr(evaluator, "description", "")), evaluator,
            )  # fmt: skip
        except Exception as exc:  # a broken plugin must not take the others down
            logger.exception("evaluator plugin %s failed to load", point.name)
            found[point.name] = Plugin(plugin_id(point.name), point.name, "", "", None, str(exc))
    return found


def by_name(name: str) -> Plugin:
    plugin = plugins().get(name)
    if plugin is None:
        raise ApiError(
            f"Unknown metric {name!r}.", details={"metric": name, "known": sorted(plugins())}
        )
    return plugin


def by_id(ident: uuid.UUID) -> Plugin:
    for plugin in plugins().values():
        if plugin.id == ident:
            return plugin
    raise NotFound("No such plugin.", details={"id": str(ident)})


class PluginFailed(ApiError):
    status, code = 422, "PLUGIN_ERROR"


class PluginTimeout(ApiError):
    status, code = 504, "PLUGIN_TIMEOUT"


def run(plugin: Plugin, case: Case) -> tuple[Result, float]:
    """Evaluate `case` in a worker thread with PLUGIN_TIMEOUT: a plugin that raises or hangs
    gives an error to its caller and leaves the process serving. Returns (result, ms)."""
    started = time.perf_counter()
    future = _submit(plugin, case)
    try:
        result = future.result(timeout=settings.PLUGIN_TIMEOUT)
    except Exception as exc:
        future.cancel()
        raise _failure(plugin, exc) from exc
    return _checked(plugin, result), (time.perf_counter() - started) * 1000


async def arun(plugin: Plugin, case: Case) -> tuple[Result, float]:
    """`run` for an event loop (a benchmark run): the loop keeps going while the plugin works."""
    started = time.perf_counter()
    future = _submit(plugin, case)
    try:
        result = await asyncio.wait_for(asyncio.wrap_future(future), settings.PLUGIN_TIMEOUT)
    except Exception as exc:
        future.cancel()
        raise _failure(plugin, exc) from exc
    return _checked(plugin, result), (time.perf_counter() - started) * 1000


def _submit(plugin: Plugin, case: Case) -> Future[Result]:
    if plugin.evaluator is None:
        raise PluginFailed(f"The plugin {plugin.name} failed to load: {plugin.error}")
    return _pool.submit(_evaluate, plugin.evaluator, case)


def _failure(plugin: Plugin, exc: Exception) -> Exception:
    """What the caller gets when a plugin raised or ran out of time."""
    if isinstance(exc, FutureTimeout | asyncio.TimeoutError):
        return PluginTimeout(
            f"The plugin {plugin.name} did not finish within {settings.PLUGIN_TIMEOUT} s.",
            details={"plugin": plugin.name},
        )
    if isinstance(exc, NeedsExpected):
        return ApiError(str(exc), details={"plugin": plugin.name})
    if isinstance(exc, ApiError):
        return exc
    logger.warning("plugin %s raised %s", plugin.name, exc)
    return PluginFailed(
        f"The plugin {plugin.name} failed: {type(exc).__name__}: {exc}",
        details={"plugin": plugin.name},
    )


def _checked(plugin: Plugin, result: Result) -> Result:
    score = float(result.score)
    if not 0.0 <= score <= 1.0:
        raise PluginFailed(f"The plugin {plugin.name} gave a score outside 0..1: {score}")
    return result


def _evaluate(evaluator: Evaluator, case: Case) -> Result:
    """In a pool thread: a plugin that touches the database (the judge looks up its provider)
    must not leave this thread's connection open."""
    try:
        return evaluator.evaluate(case)
    finally:
        connections.close_all()


def case_from(data: dict[str, Any]) -> Case:
    return Case(
        output=str(data.get("output", data.get("text", ""))),
        expected=data.get("expected"),
        input=data.get("input"),
        context=data.get("context"),
        latency_ms=data.get("latency_ms"),
        parameters=dict(data.get("parameters") or {}),
    )
