"""Each provider's last seen reachability, from two sources, both kept in the shared cache:

- its calls: every call's outcome (answered, or failed after its retries: `ProviderError`) is
  noted in this process's memory, and written to the cache at most once per provider per
  PROVIDER_SEEN_INTERVAL seconds (a benchmark run makes hundreds of calls a second: a cache
  write per call would cost more than the call's own bookkeeping). An outcome noted within
  the interval is written by the next call after it, or when a run's event loop ends (`flush`).
- beat's probe: every PROVIDER_PROBE_INTERVAL seconds, each provider's model list (the
  OpenAI-compatible `GET /v1/models`, Anthropic's `GET /v1/models`), with its latency; the
  list is what `GET /v1/providers/{name}/models` shows beside the price table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypedDict

from asgiref.sync import AsyncToSync
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

SEEN = "provider-seen:"
PROBED = "provider-probe:"
ERROR_CHARS = 300

# name -> (monotonic time of this process's last write); name -> the outcome not written yet
_written: dict[str, float] = {}
_pending: dict[str, tuple[bool, float, float | None, str]] = {}


class Outcome(TypedDict):
    ok: bool
    at: str  # ISO 8601, UTC
    latency_ms: float | None
    error: str


class Probe(Outcome):
    models: list[str] | None  # None: this kind of provider has no model list


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _write(name: str, outcome: tuple[bool, float, float | None, str]) -> None:
    ok, at, latency_ms, error = outcome
    record: Outcome = {"ok": ok, "at": _iso(at), "latency_ms": latency_ms, "error": error}
    try:
        cache.set(f"{SEEN}{name}", record, timeout=None)
    except Exception:  # the cache down must never fail a provider call
        logger.warning("could not record provider %s's reachability", name, exc_info=True)


def seen(name: str, *, ok: bool, latency_ms: float | None, error: str = "") -> None:
    """Note a call's outcome (~1 µs); written at most once per PROVIDER_SEEN_INTERVAL."""
    outcome = (ok, time.time(), None if latency_ms is None else round(latency_ms, 3),
               error[:ERROR_CHARS])  # fmt: skip
    now = time.monotonic()
    if now - _written.get(name, -1e18) < settings.PROVIDER_SEEN_INTERVAL:
        _pending[name] = outcome
        return
    _written[name] = now
    _pending.pop(name, None)
    _write(name, outcome)


def flush() -> None:
    """Write the outcomes noted but not written yet (a run's event loop is ending)."""
    for name in list(_pending):
        outcome = _pending.pop(name, None)
        if outcome is not None:
            _written[name] = time.monotonic()
            _write(name, outcome)


def last_call(name: str) -> Outcome | None:
    return cache.get(f"{SEEN}{name}")


def observed(call: Callable[..., Any]) -> Callable[..., Any]:
    """Note the outcome of a provider's `complete` (a coroutine) or `stream` (an async
    generator ending with its Generation): failed after the retries (ProviderError) or
    answered (an unknown model or a refused request is an answer too)."""
    from benchmarks.providers.base import Generation, ProviderError

    if inspect.isasyncgenfunction(call):

        @functools.wraps(call)
        async def observed_stream(self: Any, **arguments: Any) -> AsyncIterator[Any]:
            started = time.perf_counter()
            pieces = call(self, **arguments)
            try:
                async for piece in pieces:
                    if isinstance(piece, Generation):
                        seen(self.name, ok=True, latency_ms=piece.latency_ms)
                    yield piece
            except ProviderError as exc:
                seen(self.name, ok=False, latency_ms=_since(started), error=exc.message)
                raise
            finally:
                await pieces.aclose()

        return observed_stream

    @functools.wraps(call)
    async def observed_call(self: Any, **arguments: Any) -> Any:
        started = time.perf_counter()
        try:
            generation = await call(self, **arguments)
        except ProviderError as exc:
            seen(self.name, ok=False, latency_ms=_since(started), error=exc.message)
            raise
        except Exception:  # answered, with a refusal (or our own bug: not the provider's)
            seen(self.name, ok=True, latency_ms=_since(started))
            raise
        seen(self.name, ok=True, latency_ms=generation.latency_ms)
        return generation

    return observed_call


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- the probe ------------------------------------------------------------------------------
def probed(name: str) -> Probe | None:
    return cache.get(f"{PROBED}{name}")


def _probe_ttl() -> int:
    return settings.PROVIDER_PROBE_INTERVAL * 3


async def _probe(provider: Any) -> Probe:
    started = time.perf_counter()
    try:
        models = await asyncio.wait_for(provider.list_models(), timeout=PROBE_TIMEOUT + 1)
        ok, error = True, ""
    except Exception as exc:  # unreachable, refused, timed out: all "not reachable"
        models, ok = None, False
        error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    finally:
        await provider.release()
    return {"ok": ok, "at": _iso(time.time()), "latency_ms": round(_since(started), 3),
            "error": error[:ERROR_CHARS], "models": models}  # fmt: skip


PROBE_TIMEOUT = 10.0  # seconds: a probe never waits longer than this (nor the provider's own)


def probe(providers: list[Any]) -> dict[str, Probe]:
    """Ask every provider for its model list at once, store each result in the cache."""

    async def everyone() -> list[Probe]:
        return list(await asyncio.gather(*(_probe(p) for p in providers)))

    answers = AsyncToSync(everyone, force_new_loop=True)()  # a loop of its own, as complete_sync
    results = dict(zip([p.name for p in providers], answers, strict=True))
    for name, result in results.items():
        cache.set(f"{PROBED}{name}", result, timeout=_probe_ttl())
    return results
