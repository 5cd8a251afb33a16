"""Reads for submissions: the status lists, built once per change and shared by every process.

The lists are rebuilt after a change (the version key is bumped on commit), serialized once with
orjson and kept in the cache. Only `wait_time` of pending requests depends on the clock: a web
process renders each response body (and its gzip) at most once a second, so pending wait times
are at most a second old, and serves those bytes until the second or the version changes.
A status change invalidates the lists at once; score changes (votes) within a second and a quarter.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db.models import F, QuerySet
from django.utils import timezone

from leaderboard_site.accounts.models import Usage, User
from leaderboard_site.accounts.roles import Role
from submissions.models import EvalRequest, Status

logger = logging.getLogger(__name__)

VERSION_KEY = "submissions:status:version"
SCORES_KEY = "submissions:status:scores"
SCORES_LAG = 1.0  # seconds
SCORES_ANNOUNCE = 0.25  # seconds
LISTS = {
    "pending": Status.PENDING,
    "evaluating": Status.EVALUATING,
    "finished": Status.FINISHED,
    "failed": Status.FAILED,
}
_local: dict[str, Any] = {}
_lock = threading.Lock()


def status_invalidate() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _wait(start: dt.datetime, end: dt.datetime) -> str:
    return f"{max(0.0, (end - start).total_seconds()):.1f}s"


def _listed(requests: QuerySet[EvalRequest]) -> QuerySet[EvalRequest]:
    """What request_item reads: the score, and the missing subtasks of a partial run's entry."""
    return requests.with_scores().annotate(missing_subtasks=F("entry__missing_subtasks"))  # type: ignore[attr-defined]


def request_item(request: EvalRequest) -> dict[str, Any]:
    """One request (fetched through `_listed()`) as the status endpoints show it (the Open LLM
    Leaderboard API's fields, plus a few of ours: `partial` and `missing_subtasks` say that a
    finished run was published without some leaderboard subtasks).

    wait_time is the time spent in the queue: until now while pending, until the evaluation
    started after that.
    """
    started = request.started_at or request.finished_at or timezone.now()
    return {
        "id": request.pk,
        "name": request.model_name,
        "submitter": request.sender,
        "revision": request.revision,
        "precision": request.precision,
        "weight_type": request.weight_type,
        "model_type": request.model_type,
        "use_chat_template": request.use_chat_template,
        "status": request.status,
        "score": request.score,  # type: ignore[attr-defined]
        "submission_time": _iso(request.submitted_at),
        "wait_time": _wait(request.submitted_at, started),
        "reason": request.reason,
        "partial": bool(request.missing_subtasks),  # type: ignore[attr-defined]
        "missing_subtasks": request.missing_subtasks or [],  # type: ignore[attr-defined]
    }


def request_detail(request_id: int) -> dict[str, Any]:
    return request_item(_listed(EvalRequest.objects.all()).get(pk=request_id))


def _build() -> dict[str, Any]:
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
    names = {status: name for name, status in LISTS.items()}
    listed = _listed(EvalRequest.objects.exclude(status=Status.CANCELLED))
    queue = listed.order_by("-score", "submitted_at", "pk")  # type: ignore[misc]  # annotated
    pending_times = []
    for request in queue.iterator(chunk_size=2000):
        lists[names[Status(request.status)]].append(request_item(request))
        if request.status == Status.PENDING:
            pending_times.append(request.submitted_at)
    for name in ("finished", "failed"):
        lists[name].reverse()  # newest first
    return {
        "pending": lists["pending"],
        "pending_times": pending_times,
        "rest": {name: orjson.dumps(lists[name]) for name in ("evaluating", "finished", "failed")},
    }


class _Throttled:
    """`action` at most once per `every` seconds in this process. A call inside the window is
    carried out when the window ends (one timer, which a stopping process waits for), so the
    last call is never lost. A failing action is logged, never raised: it runs after a commit."""

    def __init__(self, action: Callable[[], None], every: float) -> None:
        self.action, self.every = action, every
        self._lock = threading.Lock()
        self._last = -every
        self._timer: threading.Timer | None = None

    def __call__(self) -> None:
        with self._lock:
            wait = self._last + self.every - time.monotonic()
            if wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._trailing)
                    self._timer.start()
                return
            self._last = time.monotonic()
        self._act()

    def _trailing(self) -> None:
        with self._lock:
            self._timer, self._last = None, time.monotonic()
        self._act()

    def _act(self) -> None:
        try:
            self.action()
        except Exception:
            logger.exception("%s failed", getattr(self.action, "__name__", "action"))

    def reset(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._last = None, -self.every


def _announce_scores() -> None:
    cache.set(SCORES_KEY, time.time(), timeout=None)


# Votes moved some scores: the lists follow within SCORES_LAG seconds (plus SCORES_ANNOUNCE).
# Under a stream of votes a process tells the cache at most every SCORES_ANNOUNCE seconds, and
# the lists are rebuilt at most every SCORES_LAG, not once per vote.
scores_changed = _Throttled(_announce_scores, every=SCORES_ANNOUNCE)


def _current() -> tuple[str, dict[str, Any]]:
    keys = cache.get_many([VERSION_KEY, SCORES_KEY])
    if VERSION_KEY not in keys:
        status_invalidate()
        keys[VERSION_KEY] = cache.get(VERSION_KEY)
    version, scores = keys[VERSION_KEY], keys.get(SCORES_KEY, 0.0)
    with _lock:
        if _local.get("version") == version and (
            _local.get("scores") == scores or time.monotonic() - _local["at"] < SCORES_LAG
        ):
            return _local["key"], _local["lists"]
    key = f"{VERSION_KEY}:{version}:{scores}"
    lists = cache.get(key)
    if lists is None:
        lists = _build()
        cache.set(key, lists, timeout=3600)
    with _lock:
        _local.update(version=version, scores=scores, key=key, lists=lists, at=time.monotonic())
    return key, lists


def _pending_json(lists: dict[str, Any]) -> bytes:
    now = timezone.now()
    pairs = zip(lists["pending"], lists["pending_times"], strict=True)
    return orjson.dumps([{**item, "wait_time": _wait(at, now)} for item, at in pairs])


@dataclass(frozen=True)
class Body:
    identity: bytes
    gzip: bytes


_bodies: dict[str, tuple[Any, Body]] = {}


def _rendered(name: str, render: Callable[[dict[str, Any]], bytes]) -> Body:
    version, lists = _current()
    key = (version, int(time.time()))
    with _lock:
        cached = _bodies.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
    identity = render(lists)
    body = Body(identity, gzip.compress(identity, compresslevel=4, mtime=0))
    with _lock:
        _bodies[name] = (key, body)
    return body


def status_body() -> Body:
    """GET /api/models/status: {pending, evaluating, finished, failed}."""
    return _rendered("status", _status_json)


def pending_body() -> Body:
    """GET /api/models/pending: the queue, in the order it is evaluated."""
    return _rendered("pending", _pending_json)


def _status_json(lists: dict[str, Any]) -> bytes:
    rest = lists["rest"]
    return b"".join(
        [
            b'{"pending":',
            _pending_json(lists),
            b',"evaluating":',
            rest["evaluating"],
            b',"finished":',
            rest["finished"],
            b',"failed":',
            rest["failed"],
            b"}",
        ]
    )


def model_requests(model_name: str) -> list[dict[str, Any]]:
    requests = _listed(EvalRequest.objects.filter(model_name=model_name))
    return [request_item(request) for request in requests.order_by("-submitted_at", "-pk")]


def models_requests(model_names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """model_requests of many models in one query (GraphQL's lists)."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in model_names}
    requests = _listed(EvalRequest.objects.filter(model_name__in=model_names))
    for request in requests.order_by("-submitted_at", "-pk"):
        found[request.model_name].append(request_item(request))
    return found


def requests_listed(status: str | None) -> QuerySet[EvalRequest]:
    """Every request (of one status), newest first, for request_item (GraphQL's pages)."""
    requests = _listed(EvalRequest.objects.all())
    if status is not None:
        requests = requests.filter(status=status)
    return requests.order_by("-submitted_at", "-pk")


def organization_requests(org: str, *, days: int) -> list[dict[str, Any]]:
    since = timezone.now() - dt.timedelta(days=days)
    requests = _listed(EvalRequest.objects.of_organization(org).filter(submitted_at__gte=since))
    return [request_item(r) for r in requests.order_by("-submitted_at", "-pk")]


def status_lists() -> dict[str, list[dict[str, Any]]]:
    """The four lists as GET /api/models/status serves them (the same prepared body)."""
    lists: dict[str, list[dict[str, Any]]] = orjson.loads(status_body().identity)
    return lists


def submission_quota(user: User) -> dict[str, Any]:
    """What request_submit's quota leaves `user`: used and remaining submissions in the window
    (counted as quota_reserve counts them), and when the oldest use leaves it. Admins have none."""
    limit, days = settings.SUBMISSION_QUOTA, settings.SUBMISSION_QUOTA_DAYS
    if user.role == Role.ADMIN:
        return {"unlimited": True, "limit": limit, "days": days}
    since = timezone.now() - dt.timedelta(days=days)
    uses = Usage.objects.filter(user=user, kind="submission", created_at__gt=since)
    times = sorted(uses.values_list("created_at", flat=True))
    return {
        "unlimited": False,
        "limit": limit,
        "days": days,
        "used": len(times),
        "remaining": max(0, limit - len(times)),
        "frees_at": times[0] + dt.timedelta(days=days) if times else None,
    }
