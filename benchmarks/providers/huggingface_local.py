"""A local transformers model (the `eval` extra), for runs without a model server. `model` is a
Hub id (fetched from HF_ENDPOINT) or a local folder; models stay loaded once used."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from benchmarks.providers.base import Generation, ModelProvider, ProviderError, UnknownModel
from benchmarks.providers.reachability import observed

_loaded: dict[str, tuple[Any, Any]] = {}
_lock = threading.Lock()


def _load(name: str) -> tuple[Any, Any]:
    with _lock:
        if name not in _loaded:
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise ProviderError(
                    "The huggingface provider needs the eval extra: pip install '.[eval]'"
                ) from exc
            try:
                tokenizer = AutoTokenizer.from_pretrained(name)
                model = AutoModelForCausalLM.from_pretrained(name)
            except OSError as exc:  # not a model folder, or not on the Hub
                raise UnknownModel(f"No model {name!r}: {exc}", details={"model": name}) from exc
            model.eval()
            _loaded[name] = (tokenizer, model)
        return _loaded[name]


def _generate(
    name: str, prompt: str, system: str, max_tokens: int, temperature: float
) -> tuple[str, int, int]:
    tokenizer, model = _load(name)
    if tokenizer.chat_template:
        messages = [{"role": "system", "content": system}] if system else []
        text = tokenizer.apply_chat_template(
            [*messages, {"role": "user", "content": prompt}],
            tokenize=False,
            add_generation_prompt=True,
        )
    else:
        text = f"{system}\n\n{prompt}" if system else prompt
    inputs = tokenizer(text, return_tensors="pt")
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {}
    output = model.generate(
        **inputs, max_new_tokens=max_tokens, pad_token_id=tokenizer.eos_token_id, **sampling
    )
    prompt_tokens = inputs["input_ids"].shape[1]
    answer = output[0][prompt_tokens:]
    return tokenizer.decode(answer, skip_special_tokens=True).strip(), prompt_tokens, len(answer)


class HuggingFaceProvider(ModelProvider):
    def new_client(self) -> None:
        return None

    @observed
    async def complete(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> Generation:
        async with self.gate():
            started = time.perf_counter()
            text, prompt_tokens, completion_tokens = await asyncio.to_thread(
                _generate, model, prompt, system, max_tokens, temperature
            )
            latency_ms = (time.perf_counter() - started) * 1000
        return Generation(text, model, prompt_tokens, completion_tokens, latency_ms)
