"""`plugin.events` on the event stream (/ws): evaluator plugins loaded, executed and failing.

The topic is published only while someone is subscribed (leaderboard_site/realtime/watched.py),
so a plugin call costs a clock read otherwise. Events name the plugin and what happened, never
the caller nor the case: any signed-in user may subscribe. A failure carries its code and status
(PLUGIN_ERROR 422, PLUGIN_TIMEOUT 504, BAD_REQUEST 400...), not its message, which may quote the
caller's input; a load failure carries the loader's message, which GET /v1/plugins shows too.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from leaderboard_site.realtime import topics, watched

if TYPE_CHECKING:
    from benchmarks.metrics.base import Case, Result
    from benchmarks.metrics.registry import Plugin


def _data(event: str, plugin: Plugin, **extra: Any) -> dict[str, Any]:
    return {"event": event, "plugin_id": str(plugin.id), "name": plugin.name,
            "version": plugin.version, "status": plugin.status, **extra}  # fmt: skip


def plugin_loaded(plugin: Plugin) -> None:
    """A process loaded the plugin (`loaded`), or could not (`load_failed`, with the reason)."""
    if plugin.status == "ready":
        watched.offer(topics.PLUGIN_EVENTS, _data("loaded", plugin))
    else:
        error = {"message": plugin.error}
        watched.offer(topics.PLUGIN_EVENTS, _data("load_failed", plugin, error=error))


def plugin_executed(plugin: Plugin, execution_time_ms: float) -> None:
    ms = round(execution_time_ms, 2)
    watched.offer(topics.PLUGIN_EVENTS, _data("executed", plugin, execution_time_ms=ms))


def plugin_failed(plugin: Plugin, error: Exception, execution_time_ms: float) -> None:
    """The plugin raised, gave a bad score or ran out of time (`error` is what its caller got)."""
    failure = {"code": getattr(error, "code", "INTERNAL_ERROR"),
               "status": getattr(error, "status", 500)}  # fmt: skip
    ms = round(execution_time_ms, 2)
    watched.offer(topics.PLUGIN_EVENTS,
                  _data("failed", plugin, error=failure, execution_time_ms=ms))  # fmt: skip


Run = Callable[["Plugin", "Case"], tuple["Result", float]]
AsyncRun = Callable[["Plugin", "Case"], Awaitable[tuple["Result", float]]]


def reported(run: Run) -> Run:
    """`registry.run`, each execution published (while watched) as executed or failed."""

    @functools.wraps(run)
    def wrapper(plugin: Plugin, case: Case) -> tuple[Result, float]:
        started = time.perf_counter()
        try:
            result, ms = run(plugin, case)
        except Exception as exc:
            plugin_failed(plugin, exc, (time.perf_counter() - started) * 1000)
            raise
        plugin_executed(plugin, ms)
        return result, ms

    return wrapper


def areported(run: AsyncRun) -> AsyncRun:
    """`reported` for `registry.arun`."""

    @functools.wraps(run)
    async def wrapper(plugin: Plugin, case: Case) -> tuple[Result, float]:
        started = time.perf_counter()
        try:
            result, ms = await run(plugin, case)
        except Exception as exc:
            plugin_failed(plugin, exc, (time.perf_counter() - started) * 1000)
            raise
        plugin_executed(plugin, ms)
        return result, ms

    return wrapper
