"""What the submissions app tells GET /metrics: the evaluation queue's requests by status."""

from __future__ import annotations

from django.db.models import Count

from submissions.models import EvalRequest, Status


def requests_by_status() -> dict[str, int]:
    """Every status, those without a request at 0 (a series that vanishes looks like an error)."""
    counted = EvalRequest.objects.values_list("status").annotate(n=Count("id")).order_by()
    return {**dict.fromkeys(Status.values, 0), **dict(counted)}


def register() -> None:
    from leaderboard_site.metrics.definitions import register_jobs

    register_jobs("evaluation", requests_by_status)
