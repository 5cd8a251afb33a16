"""What the apps announce (after commit) becomes events on the stream."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from benchmarks.signals import benchmark_progressed, evaluation_created
from leaderboard.signals import snapshot_published
from leaderboard_site.realtime import topics, vote_counts
from leaderboard_site.realtime.publish import publish
from submissions.signals import request_status_changed
from votes.signals import votes_changed


@receiver(benchmark_progressed)
def _benchmark_progress(sender: Any, benchmark: Any, status: str, progress: float, done: int,
                        total: int, **kwargs: Any) -> None:  # fmt: skip
    data = {"benchmark_id": str(benchmark.pk), "status": str(status), "progress": progress,
            "items_done": done, "items_total": total}  # fmt: skip
    publish(topics.BENCHMARK_PROGRESS, data, owner_id=benchmark.owner_id)


@receiver(evaluation_created)
def _evaluation_result(sender: Any, evaluation: Any, **kwargs: Any) -> None:
    data = {"evaluation_id": str(evaluation.pk), "score": evaluation.score,
            "metrics": evaluation.metrics, "provider": evaluation.provider,
            "model": evaluation.model}  # fmt: skip
    publish(topics.EVALUATION_RESULTS, data, owner_id=evaluation.owner_id)


@receiver(request_status_changed)
def _submission_status(sender: Any, request: Any, previous: str | None, status: str,
                       **kwargs: Any) -> None:  # fmt: skip
    data = {"model": request.model_name, "revision": request.revision,
            "precision": request.precision, "previous": previous,
            "status": str(status)}  # fmt: skip
    publish(topics.SUBMISSION_STATUS, data)


@receiver(snapshot_published)
def _leaderboard_updated(sender: Any, version: dict[str, Any], entries: int, built_at: float,
                         **kwargs: Any) -> None:  # fmt: skip
    data = {"raw": version.get("raw"), "formatted": version.get("formatted"),
            "entries": entries, "built_at": built_at}  # fmt: skip
    publish(topics.LEADERBOARD_UPDATED, data)


@receiver(votes_changed)
def _votes_updated(sender: Any, model_name: str, **kwargs: Any) -> None:
    vote_counts.votes_changed(model_name)
