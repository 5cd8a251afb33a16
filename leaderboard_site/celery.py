"""The Celery application; tasks live in each app's tasks.py.

Its signals carry the request id of whatever queued a task (a request, or a task queued by
one) into the task's message headers and back into the worker's context, so the task's log
lines and the events it publishes name the request that caused them; and they time each task
for /metrics.
"""

from __future__ import annotations

import os
import time
from contextvars import Token
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")

app = Celery("leaderboard_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"

# task id -> (monotonic start, the context token to reset); a worker process runs one task at a
# time per thread, but a thread pool may run several.
_running: dict[str, tuple[float, Token[str | None]]] = {}


@signals.before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from leaderboard_site.api.context import request_id_var

    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    from leaderboard_site.api.context import request_id_var

    # A worker's task request holds the message's headers as attributes; `apply()`'s, as a dict.
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or (
        getattr(task.request, "headers", None) or {}
    ).get(REQUEST_ID_HEADER)
    _running[task_id] = (time.monotonic(), request_id_var.set(request_id))


@signals.task_postrun.connect
def _task_ended(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    from leaderboard_site.api.context import request_id_var
    from leaderboard_site.metrics.definitions import TASK_DURATION, TASKS

    started = _running.pop(task_id, None)
    outcome = (state or "unknown").lower()
    TASKS.labels(task.name, outcome).inc()
    if started is not None:
        TASK_DURATION.labels(task.name, outcome).observe(time.monotonic() - started[0])
        try:
            request_id_var.reset(started[1])  # the next task must not inherit its request id
        except ValueError:  # set in another context (a pool's thread): leave it there
            request_id_var.set(None)


@signals.task_revoked.connect
def _task_revoked(request: Any = None, **kwargs: Any) -> None:
    from leaderboard_site.metrics.definitions import TASKS

    name = getattr(request, "task", None) or getattr(request, "name", None) or "unknown"
    TASKS.labels(str(name), "revoked").inc()
