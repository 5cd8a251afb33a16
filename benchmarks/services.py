"""Writes for the Test Bench: completions, evaluations, datasets and benchmark runs."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, FloatField, Max, Q
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Cast, Round
from django.utils import timezone

from benchmarks import providers, spend
from benchmarks.datasets import Item
from benchmarks.metrics import registry
from benchmarks.metrics.base import Case
from benchmarks.models import (
    FINAL_STATUSES,
    Benchmark,
    BenchmarkItem,
    BenchmarkStatus,
    CallSource,
    Completion,
    Dataset,
    DatasetItem,
    DatasetName,
    Evaluation,
)
from benchmarks.pricing import cost
from benchmarks.providers.base import Generation
from benchmarks.selectors import RUN_METRICS, benchmark_results
from benchmarks.signals import benchmark_progressed, evaluation_created
from leaderboard_site.accounts.models import ApiKey, User
from leaderboard_site.api.errors import ApiError, Conflict, Forbidden, NotFound


def completion_create(
    *,
    owner: User,
    api_key: ApiKey | None = None,
    provider: str,
    model: str,
    prompt: str,
    max_tokens: int,
    temperature: float,
    system: str = "",
    request_id: str,
) -> Completion:
    """Ask the provider (402 first when it would pass a spend cap), measure, price and store
    the completion for its owner, and the call's usage."""
    asked = providers.get(provider)
    hold = completion_hold(owner=owner, api_key=api_key, provider=provider, model=model,
                           prompt=system + prompt, max_tokens=max_tokens)  # fmt: skip
    try:
        generation = asked.complete_sync(model=model, prompt=prompt, max_tokens=max_tokens,
                                         temperature=temperature, system=system)  # fmt: skip
    except BaseException:
        spend.close([hold])  # released: a failed call is not counted
        raise
    return completion_record(
        owner=owner, provider=provider, prompt=prompt, generation=generation,
        request_id=request_id, hold=hold,
    )  # fmt: skip


def completion_hold(*, owner: User, api_key: ApiKey | None, provider: str, model: str,
                    prompt: str, max_tokens: int) -> spend.Hold:  # fmt: skip
    """A completion's reservation on its payer's budgets (402 BUDGET_EXCEEDED when refused)."""
    payer = spend.Payer(owner.pk, api_key.pk if api_key is not None else None)
    return spend.check(payer, source=CallSource.COMPLETION, provider=provider, model=model,
                       prompt=prompt, max_tokens=max_tokens)  # fmt: skip


@transaction.atomic
def completion_record(*, owner: User, provider: str, prompt: str, generation: Generation,
                      request_id: str, hold: spend.Hold) -> Completion:  # fmt: skip
    """Store an answer (asked at once or streamed) with its usage, latency and cost, and settle
    its hold (the usage record, kept when the completion is deleted)."""
    completion = Completion.objects.create(
        owner=owner,
        provider=provider,
        model=generation.model,
        prompt=prompt,
        text=generation.text,
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        latency_ms=round(generation.latency_ms, 3),
        cost=cost(
            provider=provider,
            model=generation.model,
            prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
        ),
        request_id=request_id,
    )
    hold.finish(prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens, cost=completion.cost)  # fmt: skip
    spend.close([hold])
    return completion


def evaluation_create(
    *,
    owner: User,
    api_key: ApiKey | None = None,
    metrics: list[str],
    output: str,
    provider: str = "",
    model: str = "",
    input: str = "",
    expected: str | None = None,
    context: str = "",
    latency_ms: float | None = None,
    parameters: dict[str, Any] | None = None,
) -> Evaluation:
    """Score an output with each metric (plugins, run in isolation); the score is their mean."""
    chosen = [registry.by_name(name) for name in dict.fromkeys(metrics)]  # 400 on unknown
    case = Case(output=output, expected=expected, input=input or None, context=context or None,
                latency_ms=latency_ms, parameters=parameters or {})  # fmt: skip
    scores: dict[str, float] = {}
    details: dict[str, Any] = {}
    payer = spend.Payer(owner.pk, api_key.pk if api_key is not None else None)
    for plugin in chosen:
        with spend.metering(spend.Meter(payer)):  # the judges' calls are the caller's
            result, elapsed = registry.run(plugin, case)
        scores[plugin.name] = result.score
        details[plugin.name] = {**result.details, "execution_time_ms": round(elapsed, 3)}
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            owner=owner, provider=provider, model=model, input=input, output=output,
            expected=expected, context=context, score=sum(scores.values()) / len(scores),
            metrics=scores, details=details,
        )  # fmt: skip
        transaction.on_commit(lambda: evaluation_created.send(Evaluation, evaluation=evaluation))
    return evaluation


def dataset_create(
    *,
    name: str,
    items: list[Item],
    description: str = "",
    source: str = "",
    created_by: User | None = None,
    may_extend_any: bool = False,
) -> Dataset:
    """Store `items` as the next version of the dataset `name`, all or nothing. A name belongs
    to its first version's creator (the system's when there is none: shipped or imported by an
    operator); others get 403 unless `may_extend_any` (admins)."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                _dataset_name_claim(name=name, user=created_by, may_extend_any=may_extend_any)
                latest = Dataset.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
                dataset = Dataset.objects.create(
                    name=name, version=latest + 1, description=description, source=source,
                    created_by=created_by, item_count=len(items),
                )  # fmt: skip
                DatasetItem.objects.bulk_create(
                    [
                        DatasetItem(
                            dataset=dataset,
                            index=index,
                            prompt=item.prompt,
                            variables=item.variables,
                            expected=item.expected,
                            choices=item.choices,
                            references=item.references,
                        )
                        for index, item in enumerate(items)
                    ],
                    batch_size=1000,
                )
                return dataset
        except IntegrityError:  # a concurrent upload took this version number
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _dataset_name_claim(*, name: str, user: User | None, may_extend_any: bool) -> None:
    """The name's owner row, created by its first version; Forbidden for anyone else's."""
    owned, created = DatasetName.objects.select_for_update().get_or_create(
        name=name, defaults={"owner": user}
    )
    if created or may_extend_any or user is None or owned.owner_id == user.pk:
        return
    raise Forbidden(
        f"The dataset name {name!r} belongs to another user: choose another name.",
        details={"dataset": name},
    )


# --- benchmark runs ------------------------------------------------------------------------
def dataset_named(name: str, version: int | None = None) -> Dataset:
    """The latest version of a dataset (or `version`); 400 naming the known ones otherwise."""
    versions = Dataset.objects.filter(name=name).order_by("-version")
    dataset = (versions.filter(version=version) if version else versions).first()
    if dataset is None:
        known = sorted(set(Dataset.objects.values_list("name", flat=True)))
        what = f"{name!r} version {version}" if version else repr(name)
        raise ApiError(f"Unknown dataset {what}.", details={"dataset": name, "known": known})
    if dataset.item_count == 0:
        raise ApiError(f"The dataset {dataset} has no items.", details={"dataset": name})
    return dataset


def benchmark_create(
    *,
    owner: User,
    api_key: ApiKey | None = None,
    name: str,
    providers: list[dict[str, str]],
    dataset: str,
    dataset_version: int | None = None,
    metrics: list[str],
    iterations: int | None = None,
    concurrency: int = 4,
    max_tokens: int = 256,
    temperature: float = 0.0,
    system: str = "",
) -> Benchmark:
    """Record a pending run and queue it for a worker (`benchmarks` queue). Unknown
    providers, datasets and metrics are refused (400) before anything is stored."""
    from benchmarks import providers as configured
    from benchmarks.tasks import benchmark_run

    targets = [{"provider": t["provider"], "model": t["model"]} for t in providers]
    for target in targets:
        configured.get(target["provider"])  # 400 UnknownProvider
    chosen = list(dict.fromkeys(metrics))
    for metric in chosen:
        if metric not in RUN_METRICS:
            registry.by_name(metric)  # 400 naming the known metrics
    source = dataset_named(dataset, dataset_version)
    with transaction.atomic():
        benchmark = Benchmark.objects.create(
            owner=owner, api_key=api_key, name=name, dataset=source, targets=targets,
            metrics=chosen,
            iterations=iterations or source.item_count, concurrency=concurrency,
            max_tokens=max_tokens, temperature=temperature, system=system,
        )  # fmt: skip
        transaction.on_commit(lambda: benchmark_run.delay(str(benchmark.pk)))
    return benchmark


def benchmark_progress(benchmark: Benchmark, *, only_if: Q, done: int | None = None,
                       answered: int = 0, status: str | None = None,
                       **fields: Any) -> bool:  # fmt: skip
    """The one way a run's status or progress changes: a conditional UPDATE (`only_if`), and
    once it is committed the `benchmark_progressed` signal (the `benchmark.progress` event).
    `done` sets the count of items answered, `answered` adds to it (in the UPDATE: the
    processes of one run store concurrently). Returns whether the row matched; `benchmark` is
    updated in place when it did."""
    changes = dict(fields)
    if status is not None:
        changes["status"] = status
    if done is not None:
        changes["done"] = done
        changes["progress"] = round(done / benchmark.total, 6) if benchmark.total else 1.0
    elif answered:
        changes["done"] = F("done") + answered
        changes["progress"] = Round(
            Cast(F("done") + answered, FloatField()) / max(benchmark.total, 1), precision=6
        )
    with transaction.atomic():
        if not Benchmark.objects.filter(Q(pk=benchmark.pk) & only_if).update(**changes):
            return False
        if any(hasattr(value, "resolve_expression") for value in changes.values()):
            benchmark.refresh_from_db()
        else:
            for field, value in changes.items():
                setattr(benchmark, field, value)
        if status is not None or done is not None or answered:
            state = {"status": benchmark.status, "progress": benchmark.progress,
                     "done": benchmark.done, "total": benchmark.total}  # fmt: skip
            transaction.on_commit(
                lambda: benchmark_progressed.send(Benchmark, benchmark=benchmark, **state)
            )
    return True


def benchmark_claim(benchmark_id: uuid.UUID, *, token: str) -> Benchmark | None:
    """Take a pending run, or a running one whose worker stopped renewing its lease; None when
    it is finished or another worker holds it. `done` is recounted from the stored items."""
    benchmark = Benchmark.objects.filter(pk=benchmark_id).first()
    if benchmark is None or benchmark.status in FINAL_STATUSES:
        return None
    now = timezone.now()
    claimable = Q(status=BenchmarkStatus.PENDING) | Q(
        status=BenchmarkStatus.RUNNING, lease_expires_at__lt=now
    )
    done = BenchmarkItem.objects.filter(benchmark=benchmark).count()
    claimed = benchmark_progress(
        benchmark, only_if=claimable, status=BenchmarkStatus.RUNNING, done=done,
        lease_token=token, lease_expires_at=_lease_end(), attempts=F("attempts") + 1,
        started_at=benchmark.started_at or now,
    )  # fmt: skip
    return benchmark if claimed else None


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=settings.BENCHMARK_LEASE_SECONDS)


def _held(token: str) -> Q:
    return Q(status=BenchmarkStatus.RUNNING, lease_token=token)


def benchmark_record(benchmark: Benchmark, items: list[BenchmarkItem], *, token: str,
                     calls: list[spend.Hold] | None = None) -> bool:  # fmt: skip
    """Store answered items and the progress they make, and renew the lease, in one
    transaction; False (no item stored) when the run was cancelled or taken over. The calls'
    usage is stored (and their budgets settled) either way: they were made."""
    with transaction.atomic():
        spend.close(calls or ())
        if not benchmark_progress(
            benchmark, only_if=_held(token), answered=len(items), lease_expires_at=_lease_end()
        ):
            return False
        BenchmarkItem.objects.bulk_create(items, batch_size=500)
    return True


def benchmark_finish(
    benchmark: Benchmark, *, token: str, status: str = BenchmarkStatus.COMPLETED, error: str = ""
) -> bool:
    """End a run the worker holds: completed, or failed or stopped (a spend cap reached) with
    the reason; results summarize the items stored (an unfinished run keeps its answers)."""
    return benchmark_progress(
        benchmark, only_if=_held(token), status=status, error=error,
        results=benchmark_results(benchmark), finished_at=timezone.now(), lease_token="",
        lease_expires_at=None,
    )  # fmt: skip


def benchmark_cancel(benchmark: Benchmark) -> Benchmark:
    """Stop a pending or running run (its worker notices within a second and stops asking);
    the results summarize what was answered. 409 when the run has already ended."""
    with transaction.atomic():
        if not benchmark_progress(
            benchmark, only_if=Q(status__in=[BenchmarkStatus.PENDING, BenchmarkStatus.RUNNING]),
            status=BenchmarkStatus.CANCELLED, finished_at=timezone.now(), lease_token="",
            lease_expires_at=None,
        ):  # fmt: skip
            benchmark.refresh_from_db()
            raise Conflict(
                f"The benchmark has already ended ({benchmark.status}).",
                details={"status": benchmark.status},
            )
        benchmark.results = benchmark_results(benchmark)
        Benchmark.objects.filter(pk=benchmark.pk).update(results=benchmark.results)
    return benchmark


def benchmarks_reclaim() -> list[uuid.UUID]:
    """Runs to hand to a worker again: running ones whose lease ran out (a worker died), and
    pending ones queued long ago (the broker lost the message)."""
    now = timezone.now()
    stale = Q(status=BenchmarkStatus.RUNNING, lease_expires_at__lt=now) | Q(
        status=BenchmarkStatus.PENDING, created_at__lt=now - timedelta(minutes=5)
    )
    return list(Benchmark.objects.filter(stale).values_list("pk", flat=True)[:100])


# --- data people own: deletion and retention --------------------------------------------------
def completion_delete(*, completion: Completion) -> None:
    completion.delete()


def evaluation_delete(*, evaluation: Evaluation) -> None:
    evaluation.delete()


def benchmark_delete(*, benchmark: Benchmark) -> None:
    """Delete a run and its items; a pending or running one is cancelled first (announced as
    cancelled; its worker stops at its next store, which finds the run gone)."""
    if benchmark.status not in FINAL_STATUSES:
        with contextlib.suppress(Conflict):  # it ended meanwhile
            benchmark_cancel(benchmark)
    Benchmark.objects.filter(pk=benchmark.pk).delete()


def dataset_delete(*, name: str, user: User, version: int | None = None,
                   may_delete_any: bool = False) -> int:  # fmt: skip
    """Delete a dataset's versions (all, or `version`): its owner's, or any for admins (403
    otherwise; the system's shipped and imported ones are admins' only). Versions that runs
    used are kept: 409 naming the runs (the caller's by id, others' counted) until those runs
    are deleted. The name is freed with its last version. Returns the versions deleted."""
    versions = Dataset.objects.filter(name=name)
    if version is not None:
        versions = versions.filter(version=version)
    if not versions.exists():
        raise NotFound(f"No dataset {name!r}" + (f" version {version}." if version else "."))
    owner_id = DatasetName.objects.filter(name=name).values_list("owner_id", flat=True).first()
    if not may_delete_any and (owner_id is None or owner_id != user.pk):
        raise Forbidden(f"The dataset {name!r} is not yours to delete.",
                        details={"dataset": name})  # fmt: skip
    try:
        with transaction.atomic():
            _refuse_if_used(versions, user=user, show_all=may_delete_any)
            deleted = versions.delete()[1].get(Dataset._meta.label, 0)
            if not Dataset.objects.filter(name=name).exists():
                DatasetName.objects.filter(name=name).delete()
    except (ProtectedError, IntegrityError):  # a run started on it meanwhile
        _refuse_if_used(versions, user=user, show_all=may_delete_any)
        raise
    return deleted


def _refuse_if_used(versions: Any, *, user: User, show_all: bool) -> None:
    runs = Benchmark.objects.filter(dataset__in=versions)
    mine = [str(pk) for pk in (runs if show_all else runs.filter(owner=user))
            .values_list("pk", flat=True)[:100]]  # fmt: skip
    others = 0 if show_all else runs.exclude(owner=user).count()
    if mine or others:
        raise Conflict(
            "Benchmark runs used this dataset: delete them first (their items point at it).",
            details={"benchmarks": mine, "others": others},
        )


PURGE_BATCH = 2000


def completions_purge(*, days: int) -> int:
    """Erase the prompt and text of completions older than `days` (the rows stay, with their
    tokens, latency and cost). In batches, so no statement holds many rows; idempotent."""
    cutoff = timezone.now() - timedelta(days=days)
    old = Completion.objects.filter(created_at__lt=cutoff).exclude(prompt="", text="")
    purged = 0
    while batch := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
        purged += Completion.objects.filter(pk__in=batch).update(prompt="", text="")
    return purged
