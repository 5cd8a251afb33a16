"""Leaderboard background work."""

from __future__ import annotations

from celery import shared_task

from leaderboard.snapshot import snapshot_rebuild


@shared_task(acks_late=True, ignore_result=True)
def rebuild_snapshot() -> str:
    built = snapshot_rebuild()
    if not built:
        return "coalesced into a running rebuild"
    return f"rebuilt {built['raw'].count} entries"
