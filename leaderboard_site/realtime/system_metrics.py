"""`system.metrics`: for admins, every SYSTEM_METRICS_INTERVAL seconds, this machine's requests
per second and p95 latency, and the task queues' depths and workers alive, from the numbers
GET /metrics serves (leaderboard_site/metrics/exposition.py).

A process serving sockets runs one ticker while one of its sockets is subscribed. Each tick, the
process that takes this machine's turn in the cache publishes (so several web workers on one
machine send one event per interval, each machine its own, named by `host`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from leaderboard_site.realtime import topics
from leaderboard_site.realtime.publish import publish

logger = logging.getLogger(__name__)

HOST = socket.gethostname()
_subscribers: dict[asyncio.AbstractEventLoop, set[str]] = {}
_tickers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
_summary: Any = None


def joined(channel_name: str) -> None:
    """A socket of this event loop subscribed: tick while it (or another) stays."""
    loop = asyncio.get_running_loop()
    _subscribers.setdefault(loop, set()).add(channel_name)
    ticker = _tickers.get(loop)
    if ticker is None or ticker.done():
        _tickers[loop] = loop.create_task(_tick())


def left(channel_name: str) -> None:
    _subscribers.get(asyncio.get_running_loop(), set()).discard(channel_name)


def _my_turn() -> bool:
    """Whether this process publishes this machine's numbers for this interval."""
    interval = settings.SYSTEM_METRICS_INTERVAL
    turn = max(1, int(interval * 0.9))
    return bool(cache.add(f"realtime:system-metrics:{HOST}", 1, timeout=turn))


def _read_and_publish() -> None:
    global _summary
    from leaderboard_site.metrics.exposition import Summary

    if not _my_turn():
        return
    if _summary is None:
        _summary = Summary()
    data = {"host": HOST, "interval_seconds": settings.SYSTEM_METRICS_INTERVAL,
            **_summary.read()}  # fmt: skip
    try:
        publish(topics.SYSTEM_METRICS, data)
    finally:
        connection.close()  # the database relay's, on a pool thread: not held between ticks


async def _tick() -> None:
    loop = asyncio.get_running_loop()
    while _subscribers.get(loop):
        await asyncio.sleep(settings.SYSTEM_METRICS_INTERVAL)
        if not _subscribers.get(loop):
            break
        try:
            await sync_to_async(_read_and_publish, thread_sensitive=False)()
        except Exception:  # the cache or the broker away for a tick: try at the next
            logger.warning("could not publish system.metrics", exc_info=True)
    _tickers.pop(loop, None)
