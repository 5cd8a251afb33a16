"""The Test Bench's web pages: parse, call the services and selectors the API uses, render.

My runs and the form that starts one, a run's page (its progress live over /ws, then its
results as a table and charts; cancel), two runs compared, the datasets and their versions.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from benchmarks import charts, datasets, selectors, services
from benchmarks.forms import BenchmarkForm, DatasetForm, TargetFormSet
from benchmarks.metrics import registry
from benchmarks.models import FINAL_STATUSES, Benchmark
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import ApiError

RUNS_SHOWN = 100


def _forms(request: HttpRequest) -> tuple[BenchmarkForm, Any, list[dict[str, Any]]]:
    providers = selectors.providers_listed()
    data = request.POST if request.method == "POST" else None
    form = BenchmarkForm(
        data,
        datasets=[d["name"] for d in selectors.datasets_listed()],
        plugins=[name for name, plugin in registry.plugins().items() if plugin.status == "ready"],
    )
    targets = TargetFormSet(
        data, prefix="target", form_kwargs={"providers": [p["name"] for p in providers]}
    )
    return form, targets, providers


def _start(form: BenchmarkForm, targets: Any, user: User) -> Benchmark | None:
    """Start the run the forms describe, or put the service's refusal on the form."""
    data = form.cleaned_data
    try:
        return services.benchmark_create(
            owner=user, name=data["name"],
            providers=targets.targets(),
            dataset=data["dataset"], dataset_version=data["dataset_version"],
            metrics=data["metrics"] or ["accuracy", "latency", "cost"],
            iterations=data["iterations"], concurrency=data["concurrency"],
            max_tokens=data["max_tokens"], temperature=data["temperature"],
        )  # fmt: skip
    except ApiError as exc:
        field = next((f for f in ("dataset", "metric") if f in exc.details), None)
        form.add_error({"dataset": "dataset", "metric": "metrics"}.get(field or ""), exc.message)
        return None


@login_required
def benchmarks_page(request: HttpRequest) -> HttpResponse:
    """/benchmarks: my runs, and the form that starts one."""
    user: User = request.user  # type: ignore[assignment]
    form, targets, providers = _forms(request)
    if request.method == "POST" and form.is_valid() and targets.is_valid():
        run = _start(form, targets, user)
        if run is not None:
            return redirect("benchmark", benchmark_id=run.pk)
    context = {
        "nav": "benchmarks",
        "runs": selectors.benchmarks_visible(user)[:RUNS_SHOWN],
        "form": form,
        "targets": targets,
        "providers": providers,
        "everybody": user.role == Role.ADMIN,
    }
    invalid = bool(form.errors or targets.total_error_count())
    return render(request, "benchmarks/index.html", context, status=400 if invalid else 200)


def _visible(request: HttpRequest, benchmark_id: Any) -> Benchmark:
    return get_object_or_404(selectors.benchmarks_visible(request.user), pk=benchmark_id)  # type: ignore[arg-type]


def _run_context(run: Benchmark) -> dict[str, Any]:
    ended = run.status in FINAL_STATUSES
    results = (run.results or selectors.benchmark_results(run)) if ended else None
    return {
        "nav": "benchmarks",
        "run": run,
        "ended": ended,
        "percent": round(run.progress * 100),
        "results": results,
        "charts": charts.results_charts(results) if results else [],
    }


@login_required
def benchmark_page(request: HttpRequest, benchmark_id: uuid.UUID) -> HttpResponse:
    """/benchmarks/<id>; `?part=state` is its state alone (progress, results), which the page
    fetches again when the run ends."""
    context = _run_context(_visible(request, benchmark_id))
    if request.GET.get("part") == "state":
        return render(request, "benchmarks/_run_state.html", context)
    return render(request, "benchmarks/run.html", context)


@login_required
@require_POST
def benchmark_cancel(request: HttpRequest, benchmark_id: uuid.UUID) -> HttpResponse:
    run = _visible(request, benchmark_id)
    try:
        services.benchmark_cancel(run)
    except ApiError as exc:  # it ended meanwhile
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The run {run.name} is cancelled.")
    return redirect("benchmark", benchmark_id=run.pk)


def _pick(request: HttpRequest, name: str) -> Benchmark | None:
    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        return _visible(request, uuid.UUID(raw))
    except ValueError as exc:
        raise Http404(f"{name} is not a benchmark id") from exc


@login_required
def benchmarks_compare_page(request: HttpRequest) -> HttpResponse:
    """/benchmarks/compare?a=&b=: two of my runs, figure by figure."""
    a, b = _pick(request, "a"), _pick(request, "b")
    comparison = selectors.benchmark_compare(a, b) if a and b else None
    if comparison:
        for pair in comparison["targets"]:
            pair["charts"] = charts.compare_charts(pair)
    context = {
        "nav": "benchmarks",
        "runs": selectors.benchmarks_visible(request.user)[:RUNS_SHOWN],  # type: ignore[arg-type]
        "a": a,
        "b": b,
        "comparison": comparison,
    }
    return render(request, "benchmarks/compare.html", context)


def _upload(form: DatasetForm, user: User) -> Any:
    data = form.cleaned_data
    upload = data["file"]
    try:
        items = datasets.parse(upload.read(), fmt=datasets.format_of(upload.name),
                               schema=data["schema"])  # fmt: skip
        return services.dataset_create(
            name=data["name"], items=items, description=data["description"],
            source=upload.name, created_by=user, may_extend_any=user.role == Role.ADMIN,
        )  # fmt: skip
    except ApiError as exc:
        rows = exc.details.get("errors") or []
        lines = [f"line {e['line']}: {e['message']}" for e in rows[:5]]
        form.add_error("name" if "dataset" in exc.details else "file", [exc.message, *lines])
        return None


@login_required
def datasets_page(request: HttpRequest) -> HttpResponse:
    """/benchmarks/datasets: every dataset with its versions, and an upload of a new one."""
    user: User = request.user  # type: ignore[assignment]
    form = DatasetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        dataset = _upload(form, user)
        if dataset is not None:
            messages.success(request, f"{dataset} is stored, {dataset.item_count} items.")
            return redirect("benchmark-datasets")
    context = {"nav": "benchmarks", "datasets": selectors.datasets_listed(), "form": form}
    return render(request, "benchmarks/datasets.html", context, status=400 if form.errors else 200)
