"""Writes for the Test Bench: completions (more with evaluations and benchmarks)."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from benchmarks import providers
from benchmarks.models import Completion
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
