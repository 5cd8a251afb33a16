"""What the apps announce (after commit) becomes webhook events for its owner."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from benchmarks.signals import benchmark_progressed, evaluation_created
from submissions.signals import request_status_changed
from webhooks import services

BENCHMARK_EVENTS = {"completed": "benchmark.completed", "failed": "benchmark.failed"}


@receiver(benchmark_progressed)
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
def _evaluation_completed(sender: Any, evaluation: Any, **kwargs: Any) -> None:
    if evaluation.owner_id is None:
        return
    data = {"evaluation_id": str(evaluation.pk), "score": evaluation.score,
            "metrics": evaluation.metrics, "provider": evaluation.provider,
            "model": evaluation.model}  # fmt: skip
    services.event_emit(event="evaluation.completed", owner_id=evaluation.owner_id,
                        subject=str(evaluation.pk), data=data)  # fmt: skip


@receiver(request_status_changed)
def _submission_status(sender: Any, request: Any, previous: str | None, status: str,
                       **kwargs: Any) -> None:  # fmt: skip
    if request.submitter_id is None:
        return
    data = {"request_id": request.pk, "model": request.model_name, "revision": request.revision,
            "precision": request.precision, "previous": previous,
            "status": str(status)}  # fmt: skip
    services.event_emit(event="submission.status", owner_id=request.submitter_id,
                        subject=f"{request.pk}:{status}", data=data)  # fmt: skip
