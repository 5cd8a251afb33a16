"""What the leaderboard tells GET /metrics: the age of the served lists' version (from when it
was built), kept in the cache when a new version is published so every web process reads the
same. Rebuild times are observed by snapshot_rebuild itself."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache

PUBLISHED_KEY = "leaderboard:snapshot:published-at"


def _published(sender: Any, built_at: float, **kwargs: Any) -> None:
    cache.set(PUBLISHED_KEY, built_at, timeout=None)


def version_age() -> dict[tuple[str, ...], float]:
    built_at = cache.get(PUBLISHED_KEY)
    return {(): max(0.0, time.time() - built_at)} if built_at else {}


def register() -> None:
    from leaderboard.signals import snapshot_published
    from leaderboard_site.metrics.definitions import register_gauge

    snapshot_published.connect(_published, dispatch_uid="leaderboard.telemetry")
    register_gauge(
        "leaderboard_snapshot_age_seconds",
        "Seconds since the served lists' version was built.",
        (),
        version_age,
    )
