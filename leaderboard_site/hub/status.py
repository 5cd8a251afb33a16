"""The mirror as an operator sees it: is the Hub reachable, how far behind is each dataset, and
how did its last push end. Read by /health and /metrics."""

from __future__ import annotations

import time
from typing import Any, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min
from django.utils import timezone
from huggingface_hub.utils import build_hf_headers, get_session

from leaderboard_site.hub.mirror import DATASETS
from leaderboard_site.hub.models import MirrorChange

PING_TIMEOUT = 2.0  # seconds: /health waits no longer for the Hub
LAST_PUSH_KEY = "hub:mirror:last-push:"


class PushOutcome(TypedDict):
    outcome: str  # ok, unavailable, moved, failed
    at: float  # Unix seconds
    changes: int
    error: str


def ping() -> dict[str, Any]:
    """One small request to the Hub: `up` when it answers (any status below 500 but 429: our
    token's rights are not the question), `down` otherwise."""
    started = time.perf_counter()
    url = f"{settings.HF_ENDPOINT}/api/whoami-v2"
    try:
        response = get_session().get(
            url, headers=build_hf_headers(token=settings.HF_TOKEN or False), timeout=PING_TIMEOUT
        )
        error = (
            ""
            if response.status_code < 500 and response.status_code != 429
            else (f"the Hub answered {response.status_code}")
        )
    except Exception as exc:  # refused, timed out, no DNS: all "unreachable"
        error = f"{type(exc).__name__}: {exc}"
    result = {"status": "down" if error else "up", "endpoint": settings.HF_ENDPOINT,
              "latency_ms": round((time.perf_counter() - started) * 1000, 2)}  # fmt: skip
    return {**result, "error": error} if error else result


def lag_seconds() -> dict[str, float]:
    """Each dataset's age of its oldest unpublished change (0 when none waits)."""
    oldest = dict(
        MirrorChange.objects.values("dataset").annotate(oldest=Min("created_at"))
        .values_list("dataset", "oldest")
    )  # fmt: skip
    now = timezone.now()
    return {
        dataset: max(0.0, (now - oldest[dataset]).total_seconds()) if dataset in oldest else 0.0
        for dataset in DATASETS
    }


def push_recorded(dataset: str, outcome: str, *, changes: int = 0, error: str = "") -> None:
    """Note how a push of `dataset` ended (in the shared cache: every web process reports it)."""
    record: PushOutcome = {"outcome": outcome, "at": time.time(), "changes": changes,
                           "error": error[:300]}  # fmt: skip
    cache.set(f"{LAST_PUSH_KEY}{dataset}", record, timeout=None)


def last_pushes() -> dict[str, PushOutcome | None]:
    """Each dataset's last push outcome (None: none since the cache was emptied)."""
    found = cache.get_many([f"{LAST_PUSH_KEY}{dataset}" for dataset in DATASETS])
    return {dataset: found.get(f"{LAST_PUSH_KEY}{dataset}") for dataset in DATASETS}
