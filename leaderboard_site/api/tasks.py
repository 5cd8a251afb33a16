"""Beat's housekeeping of the API layer: idempotency keys past their 24 hours."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def idempotency_keys_purge() -> str:
    from leaderboard_site.api import idempotency

    return f"{idempotency.purge()} idempotency keys forgotten"
