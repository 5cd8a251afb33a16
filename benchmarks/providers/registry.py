"""Configured providers: the admin's (the Provider table), then the environment's defaults
(`openai` from OPENAI_API_KEY / OPENAI_BASE_URL, `anthropic` from ANTHROPIC_API_KEY /
ANTHROPIC_BASE_URL, `huggingface` with HUGGINGFACE_LOCAL=true). Providers are built once per
configuration and reused."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings

from benchmarks.models import Provider, ProviderKind
from benchmarks.providers.anthropic_messages import AnthropicProvider
from benchmarks.providers.base import ModelProvider, Settings, UnknownProvider
from benchmarks.providers.huggingface_local import HuggingFaceProvider
from benchmarks.providers.openai_compatible import OpenAIProvider

KINDS: dict[str, type[ModelProvider]] = {
    ProviderKind.OPENAI: OpenAIProvider,
    ProviderKind.ANTHROPIC: AnthropicProvider,
    ProviderKind.HUGGINGFACE: HuggingFaceProvider,
}
_built: dict[tuple[str, ...], ModelProvider] = {}
_lock = threading.Lock()


def _from_environment(name: str) -> tuple[str, Settings] | None:
    configured = settings.ENV_PROVIDERS.get(name)
    if configured is None:
        return None
    return str(configured["kind"]), Settings(
        name=name,
        base_url=configured["base_url"],
        api_key=configured["api_key"],
        timeout=settings.PROVIDER_TIMEOUT,
        max_retries=settings.PROVIDER_MAX_RETRIES,
        max_concurrency=settings.PROVIDER_MAX_CONCURRENCY,
    )


def _from_row(row: Provider) -> Settings:
    return Settings(
        name=row.name, base_url=row.base_url or None, api_key=row.api_key or None,
        timeout=row.timeout_seconds, max_retries=row.max_retries,
        max_concurrency=row.max_concurrency,
    )  # fmt: skip


@dataclass(frozen=True)
class Configured:
    kind: str
    settings: Settings
    source: str  # "admin" (a Provider row) or "environment"


def configured() -> dict[str, Configured]:
    """Every provider `get` finds, by name: the admin's enabled rows, then the environment's
    that no row of the same name hides."""
    found = {row.name: Configured(row.kind, _from_row(row), "admin")
             for row in Provider.objects.filter(enabled=True).order_by("name")}  # fmt: skip
    for name in sorted(settings.ENV_PROVIDERS):
        if name not in found and (env := _from_environment(name)):
            found[name] = Configured(env[0], env[1], "environment")
    return found


def build(kind: str, config: Settings) -> ModelProvider:
    """The provider for this configuration, built once and reused."""
    key = (kind, *map(str, vars(config).values()))
    with _lock:
        provider = _built.get(key)
        if provider is None:
            provider = _built[key] = KINDS[kind](config)
    return provider


def get(name: str) -> ModelProvider:
    """The provider called `name`; UnknownProvider (400) when none is configured."""
    row = Provider.objects.filter(name=name, enabled=True).first()
    if row is not None:
        kind, config = row.kind, _from_row(row)
    elif found := _from_environment(name):
        kind, config = found
    else:
        known = sorted({*settings.ENV_PROVIDERS, *Provider.objects.filter(enabled=True)
                        .values_list("name", flat=True)})  # fmt: skip
        raise UnknownProvider(f"Unknown provider {name!r}.", details={"known": known})
    return build(kind, config)


async def release_loop() -> None:
    """Close the clients every provider opened in the running event loop (a loop that ends)."""
    with _lock:
        built = list(_built.values())
    for provider in built:
        await provider.release()
