"""The numbers only a look can tell, for /metrics, /health and `system.metrics` alike: each
task queue's depth (from the broker), the workers alive per queue (Celery's inspect), jobs by
status (the apps' counts) and the mirror's state.

Each is read at most once per its cache's seconds in a process, with a short timeout, so a
scrape every few seconds, /health in a loop and the socket's ticker cost one look between them;
the slow ones (the workers' inspect waits out its timeout, the Hub may be slow) are read on a
thread of their own, so that /health never waits for them (None until the first answer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings

from leaderboard_site.celery import app as celery_app
from leaderboard_site.metrics import definitions

logger = logging.getLogger(__name__)

CACHE_SECONDS = 5.0  # queue depths, job counts, the mirror's lag
WORKERS_SECONDS = 15.0  # an inspect broadcast waits INSPECT_TIMEOUT for the answers
HUB_SECONDS = 30.0
PROVIDERS_SECONDS = 10.0
BROKER_TIMEOUT = 1.0
# Seconds the inspect broadcast collects answers, on its own thread (the embedded default's
# file broker polls every second: a shorter wait would miss its workers' replies).
INSPECT_TIMEOUT = 2.5

T = TypeVar("T")


class Cached(Generic[T]):
    """`read()`'s value, read again at most every `seconds` (callers at the same moment wait
    for the one read in progress)."""

    def __init__(self, read: Callable[[], T], seconds: float) -> None:
        self.read, self.seconds = read, seconds
        self.lock = threading.Lock()
        self.value: tuple[float, T] | None = None

    def __call__(self) -> T:
        with self.lock:
            if self.value is None or time.monotonic() - self.value[0] >= self.seconds:
                self.value = (time.monotonic(), self.read())
            return self.value[1]

    def forget(self) -> None:
        self.value = None


class Refreshed(Cached[T | None]):
    """A `Cached` whose slow read (a broadcast that waits out its timeout, a request to the
    Hub) runs on a thread of its own: callers get the last value at once, None before the
    first one (after waiting up to FIRST_WAIT for it), and never wait for a refresh."""

    FIRST_WAIT = 0.2

    def __init__(self, read: Callable[[], T], seconds: float) -> None:
        super().__init__(read, seconds)
        self.refreshing: threading.Thread | None = None
        self.ready = threading.Event()

    def __call__(self) -> T | None:
        with self.lock:
            stale = self.value is None or time.monotonic() - self.value[0] >= self.seconds
            if stale and (self.refreshing is None or not self.refreshing.is_alive()):
                self.refreshing = threading.Thread(target=self._refresh, daemon=True,
                                                   name="metrics-refresh")  # fmt: skip
                self.refreshing.start()
            if self.value is not None:
                return self.value[1]
        self.ready.wait(self.FIRST_WAIT)
        return self.value[1] if self.value is not None else None

    def _refresh(self) -> None:
        found = self.read()
        with self.lock:
            self.value = (time.monotonic(), found)
        self.ready.set()

    def forget(self) -> None:
        with self.lock:
            self.value = None
            self.ready.clear()


def queues() -> list[str]:
    """The queues tasks go to: the default one and those the routes name."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *routed})


def _queue_depths() -> dict[str, int | None]:
    """Messages waiting in each queue (None for all: the broker did not answer in time)."""
    try:
        with celery_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            return {name: _depth(connection, name) for name in queues()}
    except Exception as exc:  # a missing queue or a broker away: "unknown", not an error page
        logger.warning("could not read the queue depths: %s", exc)
        return dict.fromkeys(queues())


def _depth(connection: Any, queue: str) -> int:
    try:
        declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        return int(declared.message_count)
    except connection.channel_errors:  # never declared, or emptied (Redis drops empty lists)
        return 0


def _workers() -> dict[str, list[str]]:
    """The workers that answered an inspect, by the queue each consumes."""
    found: dict[str, list[str]] = {name: [] for name in queues()}
    try:
        answers = celery_app.control.inspect(timeout=INSPECT_TIMEOUT).active_queues() or {}
    except Exception as exc:
        logger.warning("could not inspect the workers: %s", exc)
        return found
    for worker, consumed in sorted(answers.items()):
        for queue in consumed or []:
            found.setdefault(queue["name"], []).append(worker)
    return found


def _jobs() -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for kind, count_by_status in definitions.jobs_by_kind.items():
        counts.update(((kind, status), n) for status, n in count_by_status().items())
    return counts


def _mirror() -> dict[str, Any]:
    from leaderboard_site.hub import status

    return {"lag_seconds": status.lag_seconds(), "last_push": status.last_pushes()}


def _hub() -> dict[str, Any]:
    from leaderboard_site.hub import status

    return {**status.ping(), "checked_at": time.time()}


def _providers() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for read in _provider_sources:
        found.update(read())
    return found


_provider_sources: list[Callable[[], dict[str, Any]]] = []


def register_providers(read: Callable[[], dict[str, Any]]) -> None:
    """An app's model providers, each's reachability as last seen (`{name: {status, ...}}`):
    read from what its calls and probes noted, never by calling a provider."""
    if read not in _provider_sources:
        _provider_sources.append(read)


queue_depths = Cached(_queue_depths, CACHE_SECONDS)
workers_alive = Refreshed(_workers, WORKERS_SECONDS)
jobs = Cached(_jobs, CACHE_SECONDS)
mirror = Cached(_mirror, CACHE_SECONDS)
hub = Refreshed(_hub, HUB_SECONDS)
providers = Cached(_providers, PROVIDERS_SECONDS)
_scrape_gauges: dict[str, Cached[dict[tuple[str, ...], float]]] = {}


def scrape_gauge(gauge: definitions.ScrapeGauge) -> dict[tuple[str, ...], float]:
    cached = _scrape_gauges.get(gauge.name)
    if cached is None or cached.read is not gauge.read:
        cached = _scrape_gauges[gauge.name] = Cached(gauge.read, CACHE_SECONDS)
    return cached()


def forget() -> None:
    """Look again on the next call (tests; an operator's reload)."""
    everything: list[Cached[Any]] = [queue_depths, workers_alive, jobs, mirror, hub, providers]
    for cached in [*everything, *_scrape_gauges.values()]:
        cached.forget()
