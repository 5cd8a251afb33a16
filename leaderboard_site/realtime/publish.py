"""Sending events to the subscribers of a topic, from any process (web or worker): through the
channel layer with Redis (REDIS_URL), else through the database to the processes serving /ws
(bridge.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from django.conf import settings

from leaderboard_site.api.context import request_id_var
from leaderboard_site.realtime import bridge, topics
from leaderboard_site.redis_cache import RedisSkipped, outage

logger = logging.getLogger(__name__)


# (topic, data, owner id or None, timestamp in ms)
Event = tuple[str, dict[str, Any], int | None, int]


def publish(topic: str, data: dict[str, Any], *, owner_id: int | None = None) -> None:
    """Send `data` on `topic`: to everyone subscribed for a public topic, to the owner and the
    admins for an owned one. Call it after the change is committed. A layer that is down loses
    the event (it is logged), never the change. Without the stream (ENABLE_WEBSOCKET off) there
    is nobody to tell."""
    publish_many([(topic, data, owner_id, int(time.time() * 1000))])


class OwnLayer:
    """A publishing thread's own event loop and channel layer, made on first use and kept: the
    server's layer belongs to the server's loop, and a loop per batch would connect anew."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.layer: Any = None

    def send(self, rows: list[tuple[list[str], dict[str, Any]]]) -> None:
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.loop.run_until_complete(_send(rows, self.layer))


def publish_many(events: list[Event], *, own: OwnLayer | None = None) -> None:
    """`publish` for a batch: one insert through the database relay, one pass through the layer
    (`own`'s, for a thread that keeps one, else the server's in a loop of async_to_sync's)."""
    if not settings.ENABLE_WEBSOCKET or not events:
        return
    # The request (or the task it queued) that caused the events, when there is one.
    cause = {"request_id": request_id} if (request_id := request_id_var.get()) else {}
    rows = [(topics.groups_to_publish(topic, owner_id=owner_id),
             {"type": "realtime.event", "topic": topic, "data": data, "timestamp": timestamp,
              **cause})
            for topic, data, owner_id, timestamp in events]  # fmt: skip
    try:
        if settings.REALTIME_RELAY:  # no shared layer: through the database (bridge.py)
            bridge.store_many(rows)
            return
        if own is not None:
            own.send(rows)
        else:
            async_to_sync(_send)(rows, get_channel_layer())
    except Exception:  # the event stream is best effort; the database has the truth
        names = ", ".join(sorted({topic for topic, *_ in events}))
        logger.warning("could not publish %s", names, exc_info=True)


async def _send(rows: list[tuple[list[str], dict[str, Any]]], layer: Any) -> None:
    # A Redis that does not answer (a hung host) costs a publisher one bounded wait, then none
    # for a second (redis_cache.outage): the events are lost, the change and its answer are not.
    if outage.down():
        raise RedisSkipped("Redis did not answer a moment ago")
    try:
        async with asyncio.timeout(4 * settings.REDIS_TIMEOUT):
            for groups, message in rows:
                for group in groups:
                    await layer.group_send(group, message)
    except TimeoutError:
        outage.failed()
        raise
