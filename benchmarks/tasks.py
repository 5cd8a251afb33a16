"""Benchmark runs on the `benchmarks` queue; beat hands runs whose worker died to another,
probes the providers and erases old completions' text."""

from __future__ import annotations

import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from benchmarks import runner, services


@shared_task(soft_time_limit=settings.BENCHMARK_TIME_LIMIT,
             time_limit=settings.BENCHMARK_TIME_LIMIT + 60)  # fmt: skip
def benchmark_run(benchmark_id: str) -> str:
    return runner.run(uuid.UUID(benchmark_id))


REQUEUE_EVERY = 1800  # seconds: a run waiting behind long ones is not queued again each tick


@shared_task
def benchmarks_reclaim() -> int:
    queued = 0
    for benchmark_id in services.benchmarks_reclaim():
        if cache.add(f"benchmark-requeued:{benchmark_id}", 1, timeout=REQUEUE_EVERY):
            benchmark_run.delay(str(benchmark_id))
            queued += 1
    return queued


@shared_task(ignore_result=True)
def providers_probe() -> str:
    from benchmarks import selectors

    results = selectors.providers_probe()
    return ", ".join(f"{name}: {'ok' if r['ok'] else 'error'}" for name, r in results.items())


@shared_task(ignore_result=True)
def completions_purge() -> str:
    if settings.COMPLETION_RETENTION_DAYS is None:
        return "completions are kept (COMPLETION_RETENTION_DAYS is not set)"
    purged = services.completions_purge(days=settings.COMPLETION_RETENTION_DAYS)
    return f"{purged} completions' prompt and text erased"
