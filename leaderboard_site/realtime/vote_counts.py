"""`votes.updated`: a model's vote counts, published after its votes change.

Votes are a hot path, so the vote's request pays only what `watched` costs (a clock read while
nobody is subscribed to the topic) and, when someone is, putting the model's name in a dict.
A thread of this process reads the counts and publishes them, at most once per ANNOUNCE_SECONDS
a model: the first change of a quiet model goes out at once, the changes that follow within the
interval are announced together at its end (their counts then), so a burst of votes on one model
is one event a second, and the last event always carries the counts after the last vote.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connection

from leaderboard_site.realtime import topics, watched

logger = logging.getLogger(__name__)

ANNOUNCE_SECONDS = 1.0
FIELDS = ("total_votes", "up_votes", "down_votes", "score")


class _Announcer:
    """This process's models with changed votes, and the thread that announces them."""

    def __init__(self) -> None:
        self.due: dict[str, float] = {}  # model -> when its event may go out
        self.last: dict[str, float] = {}  # model -> when its last event went out
        self.ready = threading.Condition()
        threading.Thread(target=self._run, name="realtime-votes", daemon=True).start()

    def changed(self, model_name: str) -> None:
        with self.ready:
            if model_name not in self.due:
                self.due[model_name] = self.last.get(model_name, -ANNOUNCE_SECONDS) + (
                    ANNOUNCE_SECONDS
                )
                self.ready.notify()

    def _take(self) -> list[str]:
        """The models due now (waiting until one is)."""
        with self.ready:
            while True:
                now = time.monotonic()
                models = [name for name, at in self.due.items() if at <= now]
                if models:
                    for name in models:
                        del self.due[name]
                        self.last[name] = now
                    self.last = {k: v for k, v in self.last.items() if now - v < ANNOUNCE_SECONDS}
                    return models
                self.ready.wait(min(self.due.values()) - now if self.due else None)

    def _run(self) -> None:
        from leaderboard_site.realtime.publish import Event, OwnLayer, publish_many
        from votes.selectors import model_counts

        own = OwnLayer()
        while True:
            models = self._take()
            try:
                events: list[Event] = []
                for name in models:
                    counts = model_counts(name)
                    data = {"model": name, **{key: counts[key] for key in FIELDS}}
                    events.append((topics.VOTES_UPDATED, data, None, int(time.time() * 1000)))
                publish_many(events, own=own)
            except Exception:  # the thread must live on: the next change may go through
                logger.warning("could not announce the votes of %d models", len(models),
                               exc_info=True)  # fmt: skip
            finally:
                connection.close()  # not held between announcements


_instance: _Announcer | None = None
_lock = threading.Lock()


def votes_changed(model_name: str) -> None:
    """A vote on `model_name` was committed: announce its counts if someone listens."""
    global _instance
    if not watched.watched(topics.VOTES_UPDATED):
        return
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = _Announcer()
    _instance.changed(model_name)


def _forget_parents() -> None:
    """A forked child has none of its parent's threads."""
    global _instance, _lock
    _instance, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_parents)
