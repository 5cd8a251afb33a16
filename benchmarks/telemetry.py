"""What the Test Bench tells GET /metrics and /health: benchmark runs by status, and each
provider's reachability as its last call or probe saw it (no provider is called for it)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from benchmarks.models import Benchmark, BenchmarkStatus


def runs_by_status() -> dict[str, int]:
    """Every status, those without a run at 0."""
    counted = Benchmark.objects.values_list("status").annotate(n=Count("id")).order_by()
    return {**dict.fromkeys(BenchmarkStatus.values, 0), **dict(counted)}


def providers_reachability() -> dict[str, dict[str, Any]]:
    from benchmarks.providers import registry as providers_registry
    from benchmarks.selectors import reachability_of

    return {name: reachability_of(name) for name in providers_registry.configured()}


def register() -> None:
    from leaderboard_site.metrics import state
    from leaderboard_site.metrics.definitions import register_jobs

    register_jobs("benchmark", runs_by_status)
    state.register_providers(providers_reachability)
