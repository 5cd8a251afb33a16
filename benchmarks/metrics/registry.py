"""Discovering evaluators through the entry-point group, and running one in isolation.

Evaluators that compute (the text metrics, most plugins) run in the sandbox's child processes,
killed at PLUGIN_TIMEOUT; evaluators that wait on the network (the LLM judge) implement
`aevaluate` and run as coroutines, cancelled at PLUGIN_TIMEOUT. Either way a timeout really
stops the work, and the caller's process goes on serving."""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from asgiref.sync import AsyncToSync
from django.conf import settings

from benchmarks import providers
from benchmarks.metrics import events
from benchmarks.metrics.base import AsyncEvaluator, BadInput, Case, Evaluator, Result
from benchmarks.metrics.sandbox import Sandbox, SandboxCrashed, SandboxTimeout
from leaderboard_site.api.errors import ApiError, NotFound

logger = logging.getLogger(__name__)

GROUP = "leaderboard.evaluators"
NAMESPACE = uuid.UUID("6f1d0c1e-2f55-4a43-9d0e-4b8f3c1a7e21")


_sandbox: Sandbox | None = None
_sandbox_lock = threading.Lock()
_orphans: list[Sandbox] = []
# Threads that wait on the sandbox's pipes for an event loop (they hold no lock while waiting).
_waiters = ThreadPoolExecutor(max_workers=16, thread_name_prefix="plugin-wait")


@dataclass(frozen=True)
class Plugin:
    id: uuid.UUID
    name: str
    version: str
    description: str
    evaluator: Evaluator | AsyncEvaluator | None
    error: str = ""
    spec: str = ""  # the entry point's value, "module:attribute", which the sandbox loads

    @property
    def status(self) -> str:
        return "ready" if self.evaluator is not None else "error"


def after_fork() -> None:
    """In a forked process the parent's threads do not exist and its plugin processes are the
    parent's: start afresh (the parent's sandbox is kept referenced, never closed, here)."""
    global _sandbox, _waiters
    if _sandbox is not None:
        _orphans.append(_sandbox)
    _sandbox = None
    _waiters = ThreadPoolExecutor(max_workers=16, thread_name_prefix="plugin-wait")


def sandbox() -> Sandbox:
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            _sandbox = Sandbox(settings.PLUGIN_PROCESSES, settings.PLUGIN_MEMORY_MB)
            atexit.register(_sandbox.close)
        return _sandbox


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
                str(getattr(evaluator, "description", "")), evaluator, spec=point.value,
            )  # fmt: skip
        except Exception as exc:  # a broken plugin must not take the others down
            logger.exception("evaluator plugin %s failed to load", point.name)
            found[point.name] = Plugin(plugin_id(point.name), point.name, "", "", None, str(exc))
        events.plugin_loaded(found[point.name])
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


@events.reported
def run(plugin: Plugin, case: Case) -> tuple[Result, float]:
    """Evaluate `case` within PLUGIN_TIMEOUT: a plugin that raises, hangs or spins gives an error
    to its caller and leaves the process serving. Returns (result, ms)."""
    started = time.perf_counter()
    evaluator = _loaded(plugin)
    try:
        if isinstance(evaluator, AsyncEvaluator):
            result = AsyncToSync(_in_own_loop, force_new_loop=True)(evaluator, case)
        else:
            result = _answer(sandbox().call(plugin.spec, asdict(case), settings.PLUGIN_TIMEOUT))
    except Exception as exc:
        raise _failure(plugin, exc) from exc
    return _checked(plugin, result), (time.perf_counter() - started) * 1000


@events.areported
async def arun(plugin: Plugin, case: Case) -> tuple[Result, float]:
    """`run` for an event loop (a benchmark run): the loop keeps going while the plugin works."""
    started = time.perf_counter()
    evaluator = _loaded(plugin)
    try:
        if isinstance(evaluator, AsyncEvaluator):
            result = await asyncio.wait_for(evaluator.aevaluate(case), settings.PLUGIN_TIMEOUT)
        else:
            call = functools.partial(
                sandbox().call, plugin.spec, asdict(case), settings.PLUGIN_TIMEOUT
            )
            result = _answer(await asyncio.get_running_loop().run_in_executor(_waiters, call))
    except Exception as exc:
        raise _failure(plugin, exc) from exc
    return _checked(plugin, result), (time.perf_counter() - started) * 1000


def _loaded(plugin: Plugin) -> Evaluator | AsyncEvaluator:
    if plugin.evaluator is None:
        raise PluginFailed(f"The plugin {plugin.name} failed to load: {plugin.error}")
    return plugin.evaluator


async def _in_own_loop(evaluator: AsyncEvaluator, case: Case) -> Result:
    """A coroutine plugin for a synchronous caller, in a loop of its own: the timeout cancels
    its calls, and the provider clients it opened in that loop are closed after."""
    try:
        return await asyncio.wait_for(evaluator.aevaluate(case), settings.PLUGIN_TIMEOUT)
    finally:
        await providers.release_loop()


class PluginRaised(Exception):
    """A sandboxed plugin raised: its exception's type and message, as the sandbox told them."""


def _answer(reply: dict[str, Any]) -> Result:
    """A sandbox reply as a result, or the error it describes."""
    if reply.get("ok"):
        return Result(float(reply["score"]), dict(reply.get("details") or {}))
    message = str(reply.get("message", ""))
    if reply.get("kind") == "needs_input":
        raise BadInput(message)
    if reply.get("kind") == "api_error":
        details = dict(reply.get("details") or {})
        raise ApiError(
            message, status=int(reply["status"]), code=str(reply["code"]), details=details
        )
    raise PluginRaised(f"{reply.get('type', 'Error')}: {message}")


def _failure(plugin: Plugin, exc: Exception) -> Exception:
    """What the caller gets when a plugin raised or ran out of time."""
    if isinstance(exc, SandboxTimeout | asyncio.TimeoutError):
        return PluginTimeout(
            f"The plugin {plugin.name} did not finish within {settings.PLUGIN_TIMEOUT} s.",
            details={"plugin": plugin.name},
        )
    if isinstance(exc, BadInput):
        return ApiError(str(exc), details={"plugin": plugin.name})
    if isinstance(exc, ApiError):
        return exc
    logger.warning("plugin %s raised %s", plugin.name, exc)
    reason = (
        str(exc)
        if isinstance(exc, PluginRaised | SandboxCrashed)
        else f"{type(exc).__name__}: {exc}"
    )
    return PluginFailed(
        f"The plugin {plugin.name} failed: {reason}", details={"plugin": plugin.name}
    )


def _checked(plugin: Plugin, result: Result) -> Result:
    score = float(result.score)
    if not 0.0 <= score <= 1.0:
        raise PluginFailed(f"The plugin {plugin.name} gave a score outside 0..1: {score}")
    return result


def case_from(data: dict[str, Any]) -> Case:
    return Case(
        output=str(data.get("output", data.get("text", ""))),
        expected=data.get("expected"),
        input=data.get("input"),
        context=data.get("context"),
        latency_ms=data.get("latency_ms"),
        parameters=dict(data.get("parameters") or {}),
    )
