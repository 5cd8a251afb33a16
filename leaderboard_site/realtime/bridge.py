"""The embedded default's relay: without Redis, each process has its own in-memory channel
layer, so `publish` stores events in the database (RelayedEvent) and every process serving /ws
reads the new ones every REALTIME_RELAY_INTERVAL and sends them to its own layer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from leaderboard_site.realtime.models import RelayedEvent

logger = logging.getLogger(__name__)
KEEP = timedelta(minutes=5)
_relays: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}


def store(groups: list[str], message: dict[str, Any]) -> None:
    RelayedEvent.objects.create(groups=groups, message=message)


@database_sync_to_async
def _newest() -> int:
    return RelayedEvent.objects.aggregate(newest=Max("pk"))["newest"] or 0


@database_sync_to_async
def _after(last: int) -> list[tuple[int, list[str], dict[str, Any]]]:
    rows = RelayedEvent.objects.filter(pk__gt=last).order_by("pk")[:500]
    return list(rows.values_list("pk", "groups", "message"))


@database_sync_to_async
def _forget_old() -> None:
    RelayedEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()


async def _relay() -> None:
    layer = get_channel_layer()
    last = await _newest()
    cleaned = time.monotonic()
    while True:
        await asyncio.sleep(settings.REALTIME_RELAY_INTERVAL)
        try:
            if time.monotonic() - cleaned > 60:
                await _forget_old()
                cleaned = time.monotonic()
            for pk, groups, message in await _after(last):
                for group in groups:
                    await layer.group_send(group, message)
                last = pk
        except Exception:  # the database is busy or gone for a moment: try again
            logger.warning("could not relay events", exc_info=True)


def ensure_running() -> None:
    """Start this event loop's relay once (a socket connecting calls it)."""
    loop = asyncio.get_running_loop()
    task = _relays.get(loop)
    if task is None or task.done():
        _relays[loop] = loop.create_task(_relay())


async def stop() -> None:
    """Stop this loop's relay (tests end their loops)."""
    task = _relays.pop(asyncio.get_running_loop(), None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
