"""Plugins compute in sandbox processes that a timeout kills: a spinning plugin never holds the
caller's interpreter, and the next call gets a fresh process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from benchmarks.metrics import registry
from benchmarks.metrics.base import Case
from leaderboard_site.api.errors import ApiError
from tests.support.meanwhile import probed_during

pytestmark = pytest.mark.django_db


def _ticks_during(work: Any) -> tuple[Any, int]:
    """How often a thread of this process got to run Python code (every ms) while `work` ran."""
    result, ticks = probed_during(work, lambda: None, every=0.001)
    return result, len(ticks)


def test_a_spinning_plugin_is_killed_at_the_timeout_and_the_process_keeps_running(
    misbehaving_plugins: Any, settings: Any
) -> None:
    settings.PLUGIN_TIMEOUT = 0.5
    spinner = registry.plugins()["spinner"]

    def call() -> Any:
        started = time.monotonic()
        with pytest.raises(registry.PluginTimeout):
            registry.run(spinner, Case(output="x"))
        return time.monotonic() - started

    elapsed, ticks = _ticks_during(call)
    assert 0.5 <= elapsed < 2.0
    assert ticks > 100  # the caller's interpreter was free the whole time (~1 tick a ms)
    result, _ = registry.run(registry.plugins()["exact_match"], Case(output="a", expected="a"))
    assert result.score == 1.0  # a new process took the killed one's place


def test_a_plugin_that_wants_too_much_memory_fails_alone(
    misbehaving_plugins: Any, settings: Any
) -> None:
    settings.PLUGIN_MEMORY_MB = 512
    registry.after_fork()  # a sandbox with the new cap
    with pytest.raises(registry.PluginFailed, match="MemoryError"):
        registry.run(registry.plugins()["hog"], Case(output="x"))
    assert registry.run(registry.plugins()["contains"], Case(output="ab", expected="b"))[0].score


def test_a_benchmark_run_pays_at_most_the_timeout_per_spinning_item(
    misbehaving_plugins: Any, settings: Any
) -> None:
    settings.PLUGIN_TIMEOUT, settings.PLUGIN_PROCESSES = 0.4, 2
    registry.after_fork()
    spinner = registry.plugins()["spinner"]

    async def four_at_once_and_a_heartbeat() -> tuple[list[Any], int]:
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0.01)

        beating = asyncio.create_task(heartbeat())
        calls = [registry.arun(spinner, Case(output=str(i))) for i in range(4)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        beating.cancel()
        return outcomes, beats

    started = time.monotonic()
    outcomes, beats = asyncio.run(four_at_once_and_a_heartbeat())
    elapsed = time.monotonic() - started
    assert all(isinstance(o, registry.PluginTimeout) for o in outcomes)
    # Two processes, four calls: the last two wait for a process, within their own deadline.
    assert elapsed < 1.5
    assert beats >= elapsed / 0.01 * 0.5  # the loop kept turning


def test_the_regex_metric_is_linear_in_its_text(alice_client: Any) -> None:
    """The pattern that held a web worker for seconds under Python's engine (RE2 here)."""
    body = {"output": "a" * 10_000 + "!", "metrics": ["regex"], "parameters": {"pattern": "(a+)+$"}}
    started = time.monotonic()
    response = alice_client.post("/v1/evaluations", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["score"] == 0.0
    assert time.monotonic() - started < 2


def test_regex_patterns_are_capped_and_refused_clearly(alice_client: Any) -> None:
    def evaluate(pattern: str) -> Any:
        body = {"output": "x", "metrics": ["regex"], "parameters": {"pattern": pattern}}
        return alice_client.post("/v1/evaluations", body, format="json")

    too_long = evaluate("a" * 1001)
    assert too_long.status_code == 400
    assert "longer than 1000" in too_long.json()["error"]["message"]
    backreference = evaluate(r"(a)\1")
    assert backreference.status_code == 422
    assert "RE2" in backreference.json()["error"]["message"]


def test_an_api_error_from_a_sandboxed_plugin_keeps_its_status() -> None:
    reply = {"ok": False, "kind": "api_error", "status": 409, "code": "CONFLICT", "message": "m"}
    with pytest.raises(ApiError) as raised:
        registry._answer(reply)
    assert (raised.value.status, raised.value.code) == (409, "CONFLICT")
