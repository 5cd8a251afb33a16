"""Reads: the evaluator plugins as the API shows them; a run's per-target results, and the
comparison of two runs; a run's items for export; the configured providers, their prices,
models and reachability; the usage of provider calls, totalled."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from benchmarks.metrics import registry
from benchmarks.models import (
    Benchmark,
    BenchmarkItem,
    Dataset,
    Price,
    ProviderCall,
    render_prompt,
)
from benchmarks.providers import reachability
from benchmarks.providers import registry as providers_registry
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import NotFound

# Figures every run reports (the names `metrics` may list besides evaluator plugins).
RUN_METRICS = ("accuracy", "latency", "cost", "tokens", "throughput", "errors")
CHANGED_ITEMS_SHOWN = 1000


def plugin_row(plugin: registry.Plugin) -> dict[str, Any]:
    """A plugin as REST and GraphQL show it (the Test Bench API's plugin shape)."""
    return {"id": plugin.id, "name": plugin.name, "version": plugin.version,
            "plugin_type": "evaluator", "status": plugin.status,
            "description": plugin.description or plugin.error}  # fmt: skip


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks (as
    numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rounded(value: float | None, places: int = 3) -> float | None:
    return None if value is None else round(value, places)


def benchmark_results(benchmark: Benchmark) -> list[dict[str, Any]]:
    """Per target (provider and model): accuracy, latency mean/p50/p95/p99, tokens in and
    out, tokens per second, cost, errors and each plugin metric's mean, over the items stored.

    Accuracy counts failed calls as wrong answers over the items with an expected answer;
    latency and throughput count answered calls only; cost is null when the model has no
    price."""
    rows = BenchmarkItem.objects.filter(benchmark=benchmark).values_list(
        "target", "correct", "scores", "latency_ms", "prompt_tokens", "completion_tokens",
        "cost", "error",
    )  # fmt: skip
    per_target: list[list[tuple[Any, ...]]] = [[] for _ in benchmark.targets]
    for row in rows.iterator(chunk_size=2000):
        per_target[row[0]].append(row)
    return [
        _summary(target, items, benchmark.metrics)
        for target, items in zip(benchmark.targets, per_target, strict=True)
    ]


def _summary(target: dict[str, str], items: list[tuple[Any, ...]], metrics: list[str]) -> dict:
    answered = [row for row in items if not row[7]]
    scored = [row[1] for row in items if row[1] is not None]
    latencies = [row[3] for row in answered if row[3] is not None]
    tokens_in = sum(row[4] for row in answered)
    tokens_out = sum(row[5] for row in answered)
    costs = [row[6] for row in answered]
    seconds = sum(latencies) / 1000
    plugin_means: dict[str, float | None] = {}
    for name in metrics:
        if name in RUN_METRICS:
            continue
        values = [row[2][name] for row in answered if row[2].get(name) is not None]
        plugin_means[name] = _rounded(sum(values) / len(values), 6) if values else None
    total_cost = sum(costs, Decimal(0)) if costs and None not in costs else None
    return {
        "provider": target["provider"],
        "model": target["model"],
        "items": len(items),
        "errors": len(items) - len(answered),
        "accuracy": _rounded(sum(scored) / len(scored), 6) if scored else None,
        "latency_ms": {
            "mean": _rounded(sum(latencies) / len(latencies)) if latencies else None,
            "p50": _rounded(percentile(latencies, 50)),
            "p95": _rounded(percentile(latencies, 95)),
            "p99": _rounded(percentile(latencies, 99)),
        },
        "tokens": {"input": tokens_in, "output": tokens_out},
        "tokens_per_second": _rounded(tokens_out / seconds) if seconds else None,
        "cost": None if total_cost is None else float(round(total_cost, 8)),
        "metrics": plugin_means,
    }


def _figures(summary: dict[str, Any]) -> dict[str, float | None]:
    figures = {
        "accuracy": summary["accuracy"],
        **{f"latency_{k}_ms": v for k, v in summary["latency_ms"].items()},
        "tokens_input": summary["tokens"]["input"],
        "tokens_output": summary["tokens"]["output"],
        "tokens_per_second": summary["tokens_per_second"],
        "cost": summary["cost"],
        "errors": summary["errors"],
    }
    return figures | {f"metric_{k}": v for k, v in summary["metrics"].items()}


def _pairs(a: Benchmark, b: Benchmark) -> list[tuple[int, int]]:
    """Targets of `a` and `b` that answer for the same provider's model; two single-target
    runs compare with each other whatever their models."""
    index_b = {(t["provider"], t["model"]): i for i, t in enumerate(b.targets)}
    pairs = [
        (i, index_b[(t["provider"], t["model"])])
        for i, t in enumerate(a.targets)
        if (t["provider"], t["model"]) in index_b
    ]
    if not pairs and len(a.targets) == len(b.targets) == 1:
        pairs = [(0, 0)]
    return pairs


def benchmark_compare(a: Benchmark, b: Benchmark) -> dict[str, Any]:
    """Per paired target, every figure of both runs and its delta (b - a), and the items whose
    outcome (right, wrong, failed) changed, when both runs asked the same dataset version."""
    results_a, results_b = benchmark_results(a), benchmark_results(b)
    comparable = a.dataset_id == b.dataset_id
    targets: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    changed_count = 0
    for ia, ib in _pairs(a, b):
        figures_a, figures_b = _figures(results_a[ia]), _figures(results_b[ib])
        deltas = {}
        for name in dict.fromkeys([*figures_a, *figures_b]):
            va, vb = figures_a.get(name), figures_b.get(name)
            delta = None if va is None or vb is None else _rounded(vb - va, 6)
            deltas[name] = {"a": va, "b": vb, "delta": delta}
        targets.append({"a": a.targets[ia], "b": b.targets[ib], "metrics": deltas})
        if comparable:
            count, shown = _changed_items(a, ia, b, ib)
            changed_count += count
            changed.extend(shown[: CHANGED_ITEMS_SHOWN - len(changed)])
    return {
        "a": str(a.pk),
        "b": str(b.pk),
        "targets": targets,
        "same_dataset": comparable,
        "changed_items": changed,
        "changed_count": changed_count,
    }


def _outcome(correct: bool | None, error: str) -> str:
    if error:
        return "failed"
    return {True: "right", False: "wrong", None: "unscored"}[correct]


def _changed_items(a: Benchmark, ia: int, b: Benchmark, ib: int) -> tuple[int, list[dict]]:
    fields = ("position", "item__index", "item__prompt", "item__expected", "output", "correct",
              "error", "item__variables")  # fmt: skip
    rows_a = {r[0]: r for r in a.items.filter(target=ia).values_list(*fields)}
    changed = []
    for row_b in b.items.filter(target=ib).order_by("position").values_list(*fields):
        row_a = rows_a.get(row_b[0])
        if row_a is None:
            continue
        before, after = _outcome(row_a[5], row_a[6]), _outcome(row_b[5], row_b[6])
        if before != after:
            changed.append({
                "position": row_b[0], "item_index": row_b[1],
                "prompt": render_prompt(row_b[2], row_b[7]),
                "expected": row_b[3], "target_a": ia, "target_b": ib,
                "a": {"outcome": before, "output": row_a[4]},
                "b": {"outcome": after, "output": row_b[4]},
            })  # fmt: skip
    return len(changed), changed


EXPORT_COLUMNS = ("position", "target", "provider", "model", "item_index", "prompt", "expected",
                  "output", "outcome", "correct", "scores", "latency_ms", "prompt_tokens",
                  "completion_tokens", "cost", "error")  # fmt: skip


_EXPORT_FIELDS = ("position", "target", "item__index", "item__prompt", "item__variables",
                  "item__expected", "output", "correct", "scores", "latency_ms", "prompt_tokens",
                  "completion_tokens", "cost", "error")  # fmt: skip


def benchmark_export_rows(benchmark: Benchmark) -> Iterator[dict[str, Any]]:
    """Every stored item of a run in order (position, then target), read with a cursor in
    chunks: a run of any size streams in constant memory."""
    rows = (
        BenchmarkItem.objects.filter(benchmark=benchmark)
        .order_by("position", "target")
        .values_list(*_EXPORT_FIELDS)
    )
    targets = benchmark.targets
    for values in rows.iterator(chunk_size=1000):
        row = dict(zip(_EXPORT_FIELDS, values, strict=True))
        target = targets[row["target"]]
        yield {
            "position": row["position"], "target": row["target"],
            "provider": target["provider"], "model": target["model"],
            "item_index": row["item__index"],
            "prompt": render_prompt(row["item__prompt"], row["item__variables"]),
            "expected": row["item__expected"], "output": row["output"],
            "outcome": _outcome(row["correct"], row["error"]), "correct": row["correct"],
            "scores": row["scores"], "latency_ms": row["latency_ms"],
            "prompt_tokens": row["prompt_tokens"], "completion_tokens": row["completion_tokens"],
            "cost": None if row["cost"] is None else float(row["cost"]), "error": row["error"],
        }  # fmt: skip


# --- providers --------------------------------------------------------------------------------
VENDOR_HOSTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def _host(kind: str, base_url: str | None) -> str | None:
    """The base URL's host (and port): never its path, query or user part, which may hold
    secrets. The vendor's own host when none is set; None for local models."""
    if not base_url:
        return VENDOR_HOSTS.get(kind)
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{host}:{port}" if port else host or None


def _prices(names: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    rows = Price.objects.filter(provider__in=names).order_by("provider", "model")
    for price in rows:
        found[price.provider].append({
            "model": price.model,
            "input_per_million": float(price.input_per_million),
            "output_per_million": float(price.output_per_million),
        })  # fmt: skip
    return found


def reachability_of(name: str) -> dict[str, Any]:
    """The latest of the provider's last call and last probe: `ok`, `error` or `unknown` (never
    called nor probed since the cache was emptied)."""
    call, probe = reachability.last_call(name), reachability.probed(name)
    seen = [(o["at"], via, o) for via, o in (("call", call), ("probe", probe)) if o]
    if not seen:
        return {"status": "unknown", "at": None, "latency_ms": None, "error": "", "via": None}
    at, via, outcome = max(seen, key=lambda found: found[0])
    return {"status": "ok" if outcome["ok"] else "error", "at": at,
            "latency_ms": outcome["latency_ms"], "error": outcome["error"],
            "via": via}  # fmt: skip


def providers_listed() -> list[dict[str, Any]]:
    """Every configured provider as GET /v1/providers shows it (never its key)."""
    configured = providers_registry.configured()
    prices = _prices(list(configured))
    return [
        {
            "name": name,
            "kind": found.kind,
            "configured_in": found.source,
            "base_url_host": _host(found.kind, found.settings.base_url),
            "has_api_key": bool(found.settings.api_key),
            "max_concurrency": found.settings.max_concurrency,
            "timeout_seconds": found.settings.timeout,
            "max_retries": found.settings.max_retries,
            "models": prices[name],
            "reachability": reachability_of(name),
        }
        for name, found in configured.items()
    ]


def provider_models(name: str) -> dict[str, Any]:
    """A provider's models: the priced ones and, when it answered, those its own list names
    (the probe's, cached; probed now when the cache has none). 404 for an unknown provider."""
    found = providers_registry.configured().get(name)
    if found is None:
        raise NotFound(f"No provider {name!r}.", details={"provider": name})
    probe = reachability.probed(name)
    if probe is None:
        probe = providers_probe({name: found})[name]
    priced = {row["model"]: row for row in _prices([name])[name]}
    listed = set(probe["models"] or []) if probe["ok"] else set()
    models = [
        {"model": model, "input_per_million": priced.get(model, {}).get("input_per_million"),
         "output_per_million": priced.get(model, {}).get("output_per_million"),
         "priced": model in priced, "listed": model in listed}
        for model in sorted(priced.keys() | listed)
    ]  # fmt: skip
    return {"provider": name, "listed": probe["models"] is not None and probe["ok"],
            "listed_at": probe["at"], "reachable": probe["ok"], "error": probe["error"],
            "models": models}  # fmt: skip


def providers_probe(
    configured: dict[str, providers_registry.Configured] | None = None,
) -> dict[str, reachability.Probe]:
    """Ask each configured provider (or those given) for its model list; stored in the cache."""
    chosen = providers_registry.configured() if configured is None else configured
    built = [providers_registry.build(found.kind, found.settings) for found in chosen.values()]
    return reachability.probe(built)


# --- usage -------------------------------------------------------------------------------------
USAGE_GROUPS = ("day", "provider", "model", "key")
_USAGE_KEYS: dict[str, list[str]] = {
    "day": ["day"],
    "provider": ["provider"],
    "model": ["provider", "model"],
    "key": ["api_key_id", "api_key__name", "api_key__prefix"],
}


def usage_totals(*, user_id: int | None, start: datetime, end: datetime,
                 group_by: str) -> dict[str, Any]:  # fmt: skip
    """Provider calls in [start, end) of a user (None: everybody's), totalled per `group_by`
    and overall. `cost` sums the priced calls; `unpriced_calls` counts the others (tokens only),
    and `cost_complete` says whether there were none."""
    calls = ProviderCall.objects.filter(created_at__gte=start, created_at__lt=end)
    if user_id is not None:
        calls = calls.filter(user_id=user_id)
    keys = _USAGE_KEYS[group_by]
    grouped = calls.annotate(day=TruncDate("created_at")).values(*keys).order_by(*keys)
    groups = [{**_usage_group(group_by, row), **_usage_figures(row)}
              for row in grouped.annotate(**_USAGE_SUMS)]  # fmt: skip
    return {"from": start, "to": end, "group_by": group_by, "user": user_id, "groups": groups,
            "total": usage_figures(calls)}  # fmt: skip


def usage_figures(calls: QuerySet[ProviderCall]) -> dict[str, Any]:
    """The totals of some provider calls (the usage's, and the admin's list)."""
    return _usage_figures(calls.aggregate(**_USAGE_SUMS))


_USAGE_SUMS = {
    "n_calls": Sum("calls"),
    "n_input": Sum("input_tokens"),
    "n_output": Sum("output_tokens"),
    "n_cost": Sum("cost"),
    "n_unpriced": Sum("calls", filter=Q(cost__isnull=True)),
}


def _usage_group(group_by: str, row: dict[str, Any]) -> dict[str, Any]:
    """The group's name, and its provider, model and API key where the grouping has them."""
    key = row.get("api_key_id")
    group = {"day": lambda: row["day"].isoformat(), "provider": lambda: row["provider"],
             "model": lambda: f"{row['provider']}/{row['model']}",
             "key": lambda: str(key) if key else None}[group_by]()  # fmt: skip
    return {"group": group, "provider": row.get("provider"), "model": row.get("model"),
            "key": {"id": key, "name": row["api_key__name"], "prefix": row["api_key__prefix"]}
            if key else None}  # fmt: skip


def _usage_figures(row: dict[str, Any]) -> dict[str, Any]:
    unpriced = row["n_unpriced"] or 0
    return {"calls": row["n_calls"] or 0, "input_tokens": row["n_input"] or 0,
            "output_tokens": row["n_output"] or 0,
            "cost": (row["n_cost"] or Decimal(0)).quantize(Decimal("0.00000001")),
            "unpriced_calls": unpriced, "cost_complete": not unpriced}  # fmt: skip


def benchmarks_visible(user: User) -> QuerySet[Benchmark]:
    """The runs `user` sees, newest first: their own (admins: everybody's), as the API's
    owner-scoped lists (leaderboard_site/api/owned.py)."""
    runs = Benchmark.objects.select_related("dataset").order_by("-created_at")
    return runs if user.role == Role.ADMIN else runs.filter(owner=user)


def datasets_listed() -> list[dict[str, Any]]:
    """Every dataset name with its versions, newest version first."""
    grouped: dict[str, list[Dataset]] = {}
    for dataset in Dataset.objects.order_by("name", "-version"):
        grouped.setdefault(dataset.name, []).append(dataset)
    return [{"name": name, "latest": versions[0], "versions": versions}
            for name, versions in grouped.items()]  # fmt: skip
