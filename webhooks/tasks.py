"""Webhook deliveries: the first attempt queued once its event commits, the retries by beat."""

from __future__ import annotations

import uuid

from celery import shared_task


@shared_task(ignore_result=True)
def deliver(delivery_id: str) -> str:
    from webhooks import services

    return services.delivery_attempt(delivery_id=uuid.UUID(delivery_id))


@shared_task(ignore_result=True)
def deliveries_due() -> int:
    """Queue every delivery whose next attempt is due (an attempt claims its delivery first,
    so one queued twice is tried once)."""
    from webhooks import services

    due = services.deliveries_due()
    for delivery_id in due:
        deliver.delay(str(delivery_id))
    return len(due)
