"""Mirror background work: push each dataset's outbox as one commit per interval."""

from __future__ import annotations

import logging

from celery import shared_task

from leaderboard_site.hub import client, mirror
from leaderboard_site.hub.models import MirrorChange

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(client.HubUnavailable, mirror.ParentMoved),
    retry_backoff=15,
    retry_backoff_max=600,
    max_retries=8,
)
def mirror_push(self: object, dataset: str) -> str:
    try:
        result = mirror.push(dataset)
    except mirror.PushInProgress:
        return f"{dataset}: a push is already running"
    except Exception as exc:  # noted for /health and /metrics, then retried or failed as before
        _noted(dataset, _OUTCOMES.get(type(exc), "failed"), error=f"{type(exc).__name__}: {exc}")
        raise
    if result.changes:
        _noted(dataset, "ok", changes=result.changes)
    return f"{dataset}: {result.changes} changes in {result.files} files"


_OUTCOMES = {client.HubUnavailable: "unavailable", mirror.ParentMoved: "moved"}


def _noted(dataset: str, outcome: str, *, changes: int = 0, error: str = "") -> None:
    from leaderboard_site.hub import status
    from leaderboard_site.metrics.definitions import MIRROR_PUSHES

    MIRROR_PUSHES.labels(dataset, outcome).inc()
    try:
        status.push_recorded(dataset, outcome, changes=changes, error=error)
    except Exception:  # the cache down: the push's own outcome matters more than its note
        logger.warning("could not note the %s push's outcome", dataset, exc_info=True)


@shared_task(ignore_result=True)
def mirror_push_all() -> None:
    for dataset in mirror.DATASETS:
        if MirrorChange.objects.filter(dataset=dataset).exists():
            mirror_push.delay(dataset)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(client.HubUnavailable,),
    retry_backoff=30,
    max_retries=5,
)
def mirror_pull_all() -> str:
    """Import what others changed in the pulled datasets (idempotent)."""
    from leaderboard_site.hub import sync

    return "; ".join(str(sync.pull(dataset)) for dataset in sync.PULLABLE)
