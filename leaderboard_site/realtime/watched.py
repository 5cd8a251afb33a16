"""Topics published only while someone is subscribed (`topics.WATCHED`: request.logs,
plugin.events). Their events come from hot paths (every request, every plugin execution), so a
server nobody watches must pay nothing for them.

A subscribed socket keeps a flag in the cache (WATCH_SECONDS long, renewed every RENEW_SECONDS
while it stays subscribed). Each process reads the flag at most once per CHECK_SECONDS, so an
unwatched event costs a clock read and a comparison. A watched one is queued (at most
MAX_PENDING; beyond that they are dropped and counted) and published in batches by a thread of
this process, so a request or a plugin call never waits for the channel layer or the database.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

WATCH_SECONDS = 30
RENEW_SECONDS = 10.0
CHECK_SECONDS = 1.0
MAX_PENDING = 10_000
BATCH = 500

_seen: dict[str, tuple[float, bool]] = {}  # topic -> (when this process looked, watched?)


def _key(topic: str) -> str:
    return f"realtime:watched:{topic}"


def watched(topic: str) -> bool:
    """Whether a socket somewhere is subscribed to `topic` (at most CHECK_SECONDS stale)."""
    now = time.monotonic()
    seen = _seen.get(topic)
    if seen is not None and now - seen[0] < CHECK_SECONDS:
        return seen[1]
    try:
        flag = cache.get(_key(topic)) is not None
    except Exception:  # the cache is down: nobody can be told anyway
        logger.debug("could not read the %s flag", topic, exc_info=True)
        flag = False
    _seen[topic] = (now, flag)
    return flag


def watch(topic: str) -> None:
    """A socket subscribed to `topic`: publish its events for WATCH_SECONDS from now (the
    cache may block: call it from a thread)."""
    cache.set(_key(topic), 1, timeout=WATCH_SECONDS)
    _seen[topic] = (time.monotonic(), True)


def offer(topic: str, data: dict[str, Any], *, owner_id: int | None = None) -> None:
    """Publish `data` on `topic` if someone is subscribed; nothing otherwise."""
    if watched(topic):
        _publisher().put((topic, data, owner_id, int(time.time() * 1000)))


class _Publisher:
    """This process's queue of watched events and the thread that publishes them."""

    def __init__(self) -> None:
        self.pending: queue.Queue[Any] = queue.Queue(MAX_PENDING)
        self.dropped = 0
        threading.Thread(target=self._run, name="realtime-watched", daemon=True).start()

    def put(self, event: Any) -> None:
        try:
            self.pending.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        from leaderboard_site.realtime.publish import OwnLayer, publish_many

        own = OwnLayer()
        while True:
            batch = [self.pending.get()]
            while len(batch) < BATCH and not self.pending.empty():
                batch.append(self.pending.get_nowait())
            try:
                publish_many(batch, own=own)
                connection.close()  # the database relay's connection: not held between batches
            except Exception:  # the thread must live on: the next batch may go through
                logger.warning("could not publish %d watched events", len(batch), exc_info=True)
            if self.dropped:
                logger.warning("dropped %d watched events (publishing fell behind)", self.dropped)
                self.dropped = 0


_instance: _Publisher | None = None
_lock = threading.Lock()


def _publisher() -> _Publisher:
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = _Publisher()
    return _instance


def _forget_parents() -> None:
    """A forked child (a benchmark run's processes) has none of its parent's threads."""
    global _instance, _lock
    _instance, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_parents)
