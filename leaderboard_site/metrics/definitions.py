"""Every metric GET /metrics exports, defined once.

prometheus-client runs in its multi-process mode: each process (gunicorn's web workers, the
Celery workers and their children, a benchmark run's forks) writes its samples to files of its
own under PROMETHEUS_MULTIPROC_DIR, and a scrape adds them up. The folder must be known before
prometheus_client makes its first value, hence the environment is set before it is imported.

The numbers only a scrape can know (queue depths, workers alive, jobs by status, the mirror's
lag) are not samples: `state.py` reads them when asked, and apps add theirs with
`register_gauge` (in `AppConfig.ready`), so this layer never imports an app.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

MULTIPROC_DIR = Path(settings.PROMETHEUS_MULTIPROC_DIR)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(MULTIPROC_DIR)
MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)

from prometheus_client import Counter, Gauge, Histogram, values  # noqa: E402

if values.ValueClass is values.MutexValue:
    # prometheus_client was imported before the folder was set: make the values from now on
    # the multi-process kind, or this process's samples would never reach a scrape.
    values.ValueClass = values.get_value_class()

# Seconds: from a cached list (a millisecond) to a provider call that waits for its model.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600)

# --- HTTP (leaderboard_site/api/middleware.py) -------------------------------------------------
HTTP_REQUESTS = Histogram(
    "http_request_duration_seconds",
    "Requests by route (the URL pattern, never the path), method and status, and their "
    "latency; its _count is the request count.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_ERRORS = Counter(
    "http_errors",
    "Error responses by their envelope's code (NOT_FOUND, RATE_LIMIT_EXCEEDED...).",
    ["code", "status"],
)
RATE_LIMITED = Counter(
    "http_rate_limited",
    "Requests refused by the rate limiter (429), by bucket: requests or writes.",
    ["scope"],
)

# --- Celery (leaderboard_site/celery.py) -------------------------------------------------------
TASK_DURATION = Histogram(
    "celery_task_duration_seconds",
    "Time a task ran, by task name and outcome.",
    ["task", "outcome"],
    buckets=TASK_BUCKETS,
)
TASKS = Counter(
    "celery_tasks",
    "Tasks ended, by task name and outcome (success, failure, retry, revoked...).",
    ["task", "outcome"],
)

# --- the event stream (leaderboard_site/realtime/) ---------------------------------------------
WS_CONNECTIONS = Gauge(
    "websocket_connections",
    "Sockets open on /ws now (processes that died are not counted).",
    multiprocess_mode="livesum",
)
WS_CONNECTIONS_OPENED = Counter("websocket_connections_opened", "Sockets accepted on /ws.")
WS_EVENTS_SENT = Counter("websocket_events_sent", "Events sent to sockets, by topic.", ["topic"])

# --- the leaderboard's snapshot and the Hub mirror -----------------------------------------------
SNAPSHOT_REBUILD = Histogram(
    "leaderboard_snapshot_rebuild_seconds",
    "Time a rebuild of the served leaderboard lists took.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
MIRROR_PUSHES = Counter(
    "hub_mirror_pushes",
    "Pushes of a dataset's outbox to the Hub, by outcome (ok, unavailable, moved, failed).",
    ["dataset", "outcome"],
)


# --- numbers read at scrape time, registered by the apps ----------------------------------------
Reading = Callable[[], dict[tuple[str, ...], float]]


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Reading  # label values -> value; called at most once per state.CACHE_SECONDS


scrape_gauges: dict[str, ScrapeGauge] = {}
jobs_by_kind: dict[str, Callable[[], dict[str, int]]] = {}


def register_gauge(name: str, documentation: str, labels: tuple[str, ...], read: Reading) -> None:
    """An app's number read when /metrics is scraped (e.g. the snapshot's age)."""
    scrape_gauges[name] = ScrapeGauge(name, documentation, labels, read)


def register_jobs(kind: str, count_by_status: Callable[[], dict[str, int]]) -> None:
    """An app's jobs (`evaluation`, `benchmark`) counted by status, for the `jobs` gauge."""
    jobs_by_kind[kind] = count_by_status
