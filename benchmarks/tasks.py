"""Benchmark runs on the `benchmarks` queue; beat hands runs whose worker died to another."""

from __future__ import annotations

import uuid

from celery import shared_task
from django.conf import settings

from benchmarks import runner, services


@shared_task(soft_time_limit=settings.BENCHMARK_TIME_LIMIT,
             time_limit=settings.BENCHMARK_TIME_LIMIT + 60)  # fmt: skip
def benchmark_run(benchmark_id: str) -> str:
    return runner.run(uuid.UUID(benchmark_id))


@shared_task
def benchmarks_reclaim() -> int:
    stale = services.benchmarks_reclaim()
    for benchmark_id in stale:
        benchmark_run.delay(str(benchmark_id))
    return len(stale)
