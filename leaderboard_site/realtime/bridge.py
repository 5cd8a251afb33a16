"""The embedded default's relay: without Redis, each process has its own in-memory channel
layer, so `publish` stores events in the database (RelayedEvent) and every process serving /ws
reads the new ones every REALTIME_RELAY_INTERVAL and sends them to its own layer.

Ids are handed out before commit, so a row may appear behind one already read: the relay
reads again from a watermark SETTLE seconds old and skips the ids it has sent. Rows older than
KEEP are deleted by the writers, at most once a minute per process.
"""

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
SETTLE = timedelta(seconds=5)
_relays: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
_pruned = 0.0


def store_many(rows: list[tuple[list[str], dict[str, Any]]]) -> None:
    """Each (groups, message) as a row for the relays, in one insert."""
    global _pruned
    RelayedEvent.objects.bulk_create(
        [RelayedEvent(groups=groups, message=message) for groups, message in rows]
    )
    if time.monotonic() - _pruned > 60:
        _pruned = time.monotonic()
        RelayedEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()


@database_sync_to_async
def _newest() -> int:
    return RelayedEvent.objects.aggregate(newest=Max("pk"))["newest"] or 0


@database_sync_to_async
def _after(mark: int) -> list[tuple[int, list[str], dict[str, Any], Any]]:
    rows = RelayedEvent.objects.filter(pk__gt=mark).order_by("pk")[:1000]
    return list(rows.values_list("pk", "groups", "message", "created_at"))


async def _relay() -> None:
    layer = get_channel_layer()
    mark, sent = await _newest(), set[int]()
    while True:
        await asyncio.sleep(settings.REALTIME_RELAY_INTERVAL)
        try:
            settled = timezone.now() - SETTLE
            for pk, groups, message, created_at in await _after(mark):
                if pk not in sent:
                    for group in groups:
                        await layer.group_send(group, message)
                    sent.add(pk)
                if created_at < settled:  # nothing can commit behind it any more
                    mark = max(mark, pk)
            sent = {pk for pk in sent if pk > mark}
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
