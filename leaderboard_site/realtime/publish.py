"""Sending events to the subscribers of a topic, from any process (web or worker): through the
channel layer with Redis (REDIS_URL), else through the database to the processes serving /ws
(bridge.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from leaderboard_site.realtime import bridge, topics

logger = logging.getLogger(__name__)


def publish(topic: str, data: dict[str, Any], *, owner_id: int | None = None) -> None:
    """Send `data` on `topic`: to everyone subscribed for a public topic, to the owner and the
    admins for an owned one. Call it after the change is committed. A layer that is down loses
    the event (it is logged), never the change. Without the stream (ENABLE_WEBSOCKET off) there
    is nobody to tell."""
    if not settings.ENABLE_WEBSOCKET:
        return
    groups = topics.groups_to_publish(topic, owner_id=owner_id)
    message = {"type": "realtime.event", "topic": topic, "data": data,
               "timestamp": int(time.time() * 1000)}  # fmt: skip
    try:
        if settings.REALTIME_RELAY:  # no shared layer: through the database (bridge.py)
            bridge.store(groups, message)
            return
        layer = get_channel_layer()
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # the event stream is best effort; the database has the truth
        logger.warning("could not publish %s", topic, exc_info=True)
