"""What the apps announce (after commit) becomes webhook events for its owner."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.dispatch import receiver

from benchmarks.signals import benchmark_progressed, budget_exceeded, evaluation_created
from submissions.signals import request_status_changed
from webhooks import services

logger = logging.getLogger(__name__)


def _safely(handler: Callable[..., None]) -> Callable[..., None]:
    """A webhook that cannot be queued is logged: it never fails what announced the event
    (a run's progress, a request's transition)."""

    @functools.wraps(handler)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception:
            logger.exception("webhook event not queued (%s)", handler.__name__)

    return guarded


BENCHMARK_EVENTS = {"completed": "benchmark.completed", "failed": "benchmark.failed"}
BUDGET_FIGURES = ("scope", "period", "cap", "spent", "reserved", "needed", "resets_at")


@receiver(benchmark_progressed)
@_safely
def _benchmark_ended(sender: Any, benchmark: Any, status: str, progress: float, done: int,
                     total: int, **kwargs: Any) -> None:  # fmt: skip
    event = BENCHMARK_EVENTS.get(str(status))
    if event is None or benchmark.owner_id is None:
        return  # progress, or a run nobody owns
    data = {"benchmark_id": str(benchmark.pk), "name": benchmark.name, "status": str(status),
            "progress": progress, "items_done": done, "items_total": total,
            "results": benchmark.results, "error": benchmark.error or None}  # fmt: skip
    services.event_emit(event=event, owner_id=benchmark.owner_id, subject=str(benchmark.pk),
                        data=data)  # fmt: skip


@receiver(evaluation_created)
@_safely
def _evaluation_completed(sender: Any, evaluation: Any, **kwargs: Any) -> None:
    if evaluation.owner_id is None:
        return
    data = {"evaluation_id": str(evaluation.pk), "score": evaluation.score,
            "metrics": evaluation.metrics, "provider": evaluation.provider,
            "model": evaluation.model}  # fmt: skip
    services.event_emit(event="evaluation.completed", owner_id=evaluation.owner_id,
                        subject=str(evaluation.pk), data=data)  # fmt: skip


@receiver(request_status_changed)
@_safely
def _submission_status(sender: Any, request: Any, previous: str | None, status: str,
                       **kwargs: Any) -> None:  # fmt: skip
    if request.submitter_id is None:
        return
    data = {"request_id": request.pk, "model": request.model_name, "revision": request.revision,
            "precision": request.precision, "previous": previous,
            "status": str(status)}  # fmt: skip
    services.event_emit(event="submission.status", owner_id=request.submitter_id,
                        subject=f"{request.pk}:{status}", data=data)  # fmt: skip


@receiver(budget_exceeded)
@_safely
def _budget_exceeded(sender: Any, budget: Any, user_id: Any, api_key_id: Any,
                     benchmark_id: Any, **figures: Any) -> None:  # fmt: skip
    """To the payer: the user, or the owner of the API key whose cap refused the call."""
    owner_id = user_id
    if owner_id is None and api_key_id is not None:
        from leaderboard_site.accounts.models import ApiKey

        owner_id = ApiKey.objects.filter(pk=api_key_id).values_list("user_id", flat=True).first()
    if owner_id is None:
        return
    data = {"api_key_id": _text(api_key_id), "benchmark_id": _text(benchmark_id),
            **{name: figures.get(name) for name in BUDGET_FIGURES}}  # fmt: skip
    subject = f"{budget.pk}:{figures.get('period')}:{figures.get('resets_at')}"
    services.event_emit(event="budget.exceeded", owner_id=owner_id, subject=subject, data=data)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
