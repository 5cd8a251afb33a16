"""Anthropic's Messages API through the official `anthropic` SDK's async client."""

from __future__ import annotations

import time
from typing import Any

import anthropic

from benchmarks.providers.base import (
    Generation,
    ModelProvider,
    ProviderError,
    ProviderRefused,
    UnknownModel,
)
from benchmarks.providers.openai_compatible import _model_ids
from benchmarks.providers.reachability import PROBE_TIMEOUT, observed


class AnthropicProvider(ModelProvider):
    def new_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=self.settings.api_key or "unused",
            base_url=self.settings.base_url or None,
            timeout=self.settings.timeout,
            max_retries=self.settings.max_retries,
        )

    def _request(self, model: str, prompt: str, max_tokens: int, temperature: float,
                 system: str) -> dict[str, Any]:  # fmt: skip
        request: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}],
            # This SDK no longer types sampling parameters; the Messages API still takes it.
            "extra_body": {"temperature": temperature},
        }
        if system:
            request["system"] = system
        return request

    @observed
    async def complete(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> Generation:
        async with self.gate():
            started = time.perf_counter()
            try:
                message = await self.client.messages.create(
                    **self._request(model, prompt, max_tokens, temperature, system)
                )
            except anthropic.AnthropicError as exc:
                raise _translate(self.name, model, exc) from exc
            latency_ms = (time.perf_counter() - started) * 1000
        text = "".join(block.text for block in message.content if block.type == "text")
        return Generation(
            text=text,
            model=message.model or model,
            prompt_tokens=message.usage.input_tokens,
            completion_tokens=message.usage.output_tokens,
            latency_ms=latency_ms,
        )

    async def list_models(self) -> list[str]:
        timeout = min(self.settings.timeout, PROBE_TIMEOUT)
        options: Any = {"max_retries": 0, "timeout": timeout, "params": {"limit": 1000}}
        try:
            answer = await self.client.get("/v1/models", cast_to=object, options=options)
        except anthropic.AnthropicError as exc:
            raise _translate(self.name, "", exc) from exc
        return _model_ids(answer)


def _translate(provider: str, model: str, exc: Exception) -> Exception:
    details: dict[str, Any] = {"provider": provider, "model": model, "provider_message": str(exc)}
    if isinstance(exc, anthropic.APIStatusError):
        details["status"] = exc.status_code
        if exc.status_code == 404:
            return UnknownModel(f"{provider} does not serve the model {model!r}: {exc.message}",
                                details=details)  # fmt: skip
        if exc.status_code in (400, 422):
            return ProviderRefused(f"{provider} refused the request for {model!r}: "
                                   f"{exc.message}", details=details)  # fmt: skip
    return ProviderError(f"The provider {provider} failed: {exc}", details=details)
