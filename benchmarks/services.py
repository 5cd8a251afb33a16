"""Writes for the Test Bench: completions and evaluations (benchmark runs come next)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync

from benchmarks import providers
from benchmarks.metrics import registry
from benchmarks.metrics.base import Case
from benchmarks.models import Completion, Evaluation
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
