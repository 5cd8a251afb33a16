"""Writes for the Test Bench: completions and evaluations (benchmark runs come next)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.db import IntegrityError, transaction
from django.db.models import Max

from benchmarks import providers
from benchmarks.datasets import Item
from benchmarks.metrics import registry
from benchmarks.metrics.base import Case
from benchmarks.models import Completion, Dataset, DatasetItem, Evaluation
from benchmarks.pricing import cost
from leaderboard_site.accounts.models import User


def completion_create(
    *,
    owner: User,
    provider: str,
    model: str,
    prompt: str,
    max_tokens: int,
    temperature: float,
    system: str = "",
    request_id: str,
) -> Completion:
    """Ask the provider, measure, price and store the completion for its owner."""
    source = providers.get(provider)
    generation = async_to_sync(source.complete)(
        model=model, prompt=prompt, max_tokens=max_tokens, temperature=temperature, system=system
    )
    return Completion.objects.create(
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


def evaluation_create(
    *,
    owner: User,
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
    for plugin in chosen:
        result, elapsed = registry.run(plugin, case)
        scores[plugin.name] = result.score
        details[plugin.name] = {**result.details, "execution_time_ms": round(elapsed, 3)}
    return Evaluation.objects.create(
        owner=owner, provider=provider, model=model, input=input, output=output,
        expected=expected, context=context, score=sum(scores.values()) / len(scores),
        metrics=scores, details=details,
    )  # fmt: skip


def dataset_create(
    *,
    name: str,
    items: list[Item],
    description: str = "",
    source: str = "",
    created_by: User | None = None,
) -> Dataset:
    """Store `items` as the next version of the dataset `name`, all or nothing."""
    for attempt in range(3):
        try:
            with transaction.atomic():
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
