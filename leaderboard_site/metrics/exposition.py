"""GET /metrics' body, and the summary `system.metrics` sends: both from the same samples (every
process's files, added up) and the same scrape-time numbers (state.py)."""

from __future__ import annotations

import glob
import math
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leaderboard_site.metrics import definitions, state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class ScrapeCollector(Collector):
    """The numbers read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        yield from self._celery()
        yield from self._jobs()
        yield from self._mirror()
        for gauge in list(definitions.scrape_gauges.values()):
            family = _gauge(gauge.name, gauge.documentation, list(gauge.labels))
            for labels, value in state.scrape_gauge(gauge).items():
                family.add_metric(list(labels), value)
            yield family

    def _celery(self) -> Iterator[Metric]:
        depth = _gauge("celery_queue_depth", "Messages waiting in each task queue.", ["queue"])
        for queue, count in state.queue_depths().items():
            depth.add_metric([queue], math.nan if count is None else count)
        alive = _gauge("celery_workers_alive", "Workers that answered, by queue.", ["queue"])
        for queue, workers in (state.workers_alive() or {}).items():  # None: not asked yet
            alive.add_metric([queue], len(workers))
        yield from (depth, alive)

    def _jobs(self) -> Iterator[Metric]:
        family = _gauge("jobs", "Evaluation and benchmark jobs by status.", ["kind", "status"])
        for (kind, status), count in sorted(state.jobs().items()):
            family.add_metric([kind, status], count)
        yield family

    def _mirror(self) -> Iterator[Metric]:
        mirror = state.mirror()
        lag = _gauge(
            "hub_mirror_lag_seconds",
            "Age of the oldest change not yet published to each dataset (0: none waits).",
            ["dataset"],
        )
        ok = _gauge("hub_mirror_last_push_ok", "1 when the last push landed.", ["dataset"])
        at = _gauge("hub_mirror_last_push_timestamp_seconds", "When it ended.", ["dataset"])
        for dataset, seconds in mirror["lag_seconds"].items():
            lag.add_metric([dataset], seconds)
        for dataset, pushed in mirror["last_push"].items():
            if pushed is not None:
                ok.add_metric([dataset], 1.0 if pushed["outcome"] == "ok" else 0.0)
                at.add_metric([dataset], pushed["at"])
        yield from (lag, ok, at)


def forget_dead_processes() -> None:
    """Drop the live gauges (open sockets) of this machine's processes that are gone, killed
    without a word: they would count forever."""
    for path in glob.glob(str(definitions.MULTIPROC_DIR / "gauge_live*.db")):
        found = _LIVE_FILE.search(path)
        if found and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), str(definitions.MULTIPROC_DIR))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def registry(*, scrape: bool = True) -> CollectorRegistry:
    found = CollectorRegistry()
    multiprocess.MultiProcessCollector(found, str(definitions.MULTIPROC_DIR))
    if scrape:
        found.register(ScrapeCollector())
    return found


def render() -> bytes:
    forget_dead_processes()
    return generate_latest(registry())


def reset_folder(folder: Path) -> None:
    """Start with no samples: a new server must not add up the last one's processes."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        path.unlink(missing_ok=True)


# --- system.metrics ----------------------------------------------------------------------------
def _request_totals() -> tuple[float, dict[float, float]]:
    """Every request so far (all routes, all processes) and the cumulative count per bucket."""
    count, buckets = 0.0, dict.fromkeys((*definitions.LATENCY_BUCKETS, math.inf), 0.0)
    for family in registry(scrape=False).collect():
        if family.name != "http_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_bucket"):
                buckets[float(sample.labels["le"])] += sample.value
    return count, buckets


def _quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float | None:
    """The q-quantile of the requests between two bucket readings (linear within a bucket, as
    Prometheus' histogram_quantile)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


class Summary:
    """Requests per second and p95 latency since the previous reading, queue depths and
    workers alive: what `system.metrics` sends every few seconds."""

    def __init__(self) -> None:
        self.previous: tuple[float, float, dict[float, float]] | None = None

    def read(self) -> dict[str, Any]:
        now = time.monotonic()
        count, buckets = _request_totals()
        rate = p95 = None
        if self.previous is not None:
            then, count_then, buckets_then = self.previous
            rate = round(max(0.0, count - count_then) / max(now - then, 1e-6), 3)
            found = _quantile(0.95, buckets_then, buckets)
            p95 = None if found is None else round(found * 1000, 2)
        self.previous = (now, count, buckets)
        workers = state.workers_alive()
        return {
            "requests_per_second": rate,
            "p95_latency_ms": p95,
            "requests_total": int(count),
            "queue_depth": state.queue_depths(),
            "workers_alive": {q: len(w) for q, w in workers.items()}
            if workers is not None
            else None,
        }
