"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, TGI, LiteLLM) through the
official `openai` SDK's async client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import openai

from benchmarks.providers.base import (
    Generation,
    ModelProvider,
    ProviderError,
    ProviderRefused,
    UnknownModel,
)
from benchmarks.providers.reachability import PROBE_TIMEOUT, observed


class OpenAIProvider(ModelProvider):
    def new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=self.settings.api_key or "unused",  # local servers take any key
            base_url=self.settings.base_url or None,
            timeout=self.settings.timeout,
            max_retries=self.settings.max_retries,
            # aiohttp under the SDK's client: a third less CPU per call than its default
            http_client=openai.DefaultAioHttpClient(),
        )

    def _messages(self, prompt: str, system: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": system}] if system else []
        return [*messages, {"role": "user", "content": prompt}]

    @observed
    async def complete(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> Generation:
        body = {"model": model, "messages": self._messages(prompt, system),
                "max_tokens": max_tokens, "temperature": temperature}  # fmt: skip
        async with self.gate():
            started = time.perf_counter()
            try:
                # The SDK's own request (its timeouts, retries and errors) without its typed
                # parameters and response models, which cost ~1 ms of CPU a call: a benchmark
                # run makes hundreds a second.
                response = await self.client.post("/chat/completions", body=body, cast_to=object)
            except openai.OpenAIError as exc:
                raise _translate(self.name, model, exc) from exc
            latency_ms = (time.perf_counter() - started) * 1000
        try:
            message = response["choices"][0]["message"]
            usage = response.get("usage") or {}
            return Generation(
                text=message.get("content") or "",
                model=response.get("model") or model,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                latency_ms=latency_ms,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderError(
                f"The provider {self.name} sent an answer that is not a chat completion.",
                details={"provider": self.name, "model": model, "provider_message": str(exc)},
            ) from exc

    @observed
    async def stream(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> AsyncIterator[str | Generation]:
        pieces: list[str] = []
        usage, answered_by = None, model
        async with self.gate():
            started = time.perf_counter()
            try:
                chunks = await self.client.chat.completions.create(
                    model=model,
                    messages=self._messages(prompt, system),  # type: ignore[arg-type]
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                async with chunks:  # closed even when our caller stops early
                    async for chunk in chunks:
                        answered_by = chunk.model or answered_by
                        usage = chunk.usage or usage
                        if chunk.choices and chunk.choices[0].delta.content:
                            pieces.append(chunk.choices[0].delta.content)
                            yield pieces[-1]
            except openai.OpenAIError as exc:
                raise _translate(self.name, model, exc) from exc
            latency_ms = (time.perf_counter() - started) * 1000
        yield Generation(
            text="".join(pieces),
            model=answered_by,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=latency_ms,
        )

    async def list_models(self) -> list[str]:
        timeout = min(self.settings.timeout, PROBE_TIMEOUT)
        try:
            answer = await self.client.get(
                "/models", cast_to=object, options={"max_retries": 0, "timeout": timeout}
            )
        except openai.OpenAIError as exc:
            raise _translate(self.name, "", exc) from exc
        return _model_ids(answer)


def _model_ids(answer: Any) -> list[str]:
    """The ids of an OpenAI-style model list (`{"data": [{"id": ...}, ...]}`)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise ProviderError("The provider's model list is not a list of models.")
    return sorted({str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")})


def _translate(provider: str, model: str, exc: Exception) -> Exception:
    details: dict[str, Any] = {"provider": provider, "model": model}
    if isinstance(exc, openai.APIStatusError):
        details.update(status=exc.status_code, provider_message=_message(exc))
        if exc.status_code == 404:
            return UnknownModel(f"{provider} does not serve the model {model!r}.", details=details)
        if exc.status_code in (400, 422):
            return ProviderRefused(f"{provider} refused the request: {_message(exc)}",
                                   details=details)  # fmt: skip
    else:
        details["provider_message"] = str(exc)
    return ProviderError(f"The provider {provider} failed: {details['provider_message']}",
                         details=details)  # fmt: skip


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body)
    return str(error.get("message") if isinstance(error, dict) else error) or str(exc)
