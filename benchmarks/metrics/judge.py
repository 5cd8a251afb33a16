"""LLM-as-judge metrics: a rubric prompt to the judge model (JUDGE_PROVIDER, JUDGE_MODEL) that
must answer JSON {"score": 0..1, "reasoning": "..."}. Verdicts are cached by (metric, input,
output, expected, rubric, judge model). Without a judge configured they refuse (400): never a
made-up score. A judge waits on the network, so it is a coroutine (`aevaluate`) that its caller's
timeout cancels, not a sandboxed process; the cache is the shared cache, not a table."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from benchmarks import providers, spend
from benchmarks.metrics.base import Case, Result
from benchmarks.models import CallSource
from leaderboard_site import sql
from leaderboard_site.api.errors import ApiError

ANSWER = (
    '\n\nAnswer with one JSON object and nothing else: {"score": <a number from 0 to 1>, '
    '"reasoning": "<one or two sentences>"}'
)
RUBRICS = {
    "faithfulness": (
        "Rate how faithful the RESPONSE is to the CONTEXT and the REFERENCE: 1 when every claim "
        "is supported by them, 0 when it contradicts them or invents facts."
    ),
    "relevance": (
        "Rate how relevant the RESPONSE is to the INPUT: 1 when it answers exactly what was "
        "asked, 0 when it ignores the question."
    ),
    "coherence": (
        "Rate the coherence of the RESPONSE: 1 when it is clear, well organised and consistent, "
        "0 when it is confused or self-contradictory."
    ),
}
JSON_OBJECT = re.compile(r"\{.*\}", re.S)
JUDGE_MAX_TOKENS = 300
CACHE_PREFIX = "benchmarks:judge:"  # the shared cache (Redis in production), kept until evicted


class JudgeNotConfigured(ApiError):
    """No judge provider and model are set (400)."""


@dataclass(frozen=True)
class JudgeMetric:
    name: str
    description: str
    version: str = "1.0.0"

    @property
    def rubric(self) -> str:
        return RUBRICS[self.name]

    def prompt(self, case: Case) -> str:
        parts = [self.rubric, f"INPUT:\n{case.input or ''}", f"RESPONSE:\n{case.output}"]
        if case.context:
            parts.append(f"CONTEXT:\n{case.context}")
        if case.expected:
            parts.append(f"REFERENCE:\n{case.expected}")
        return "\n\n".join(parts) + ANSWER

    async def aevaluate(self, case: Case) -> Result:
        provider, model = settings.JUDGE_PROVIDER, settings.JUDGE_MODEL
        if not provider or not model:
            raise JudgeNotConfigured(
                f"The {self.name} metric needs a judge: set JUDGE_PROVIDER and JUDGE_MODEL.",
                details={"metric": self.name, "settings": ["JUDGE_PROVIDER", "JUDGE_MODEL"]},
            )
        key = hashlib.sha256(
            json.dumps(
                [self.name, case.input, case.output, case.expected, self.rubric, provider, model]
            ).encode()
        ).hexdigest()
        cached = await cache.aget(f"{CACHE_PREFIX}{key}")
        if cached is not None:
            score, reasoning = cached
            return Result(score, {"reasoning": reasoning, "judge": model, "cached": True})
        judge = await sync_to_async(sql.tidied(providers.get), thread_sensitive=False)(provider)
        meter = spend.current()  # the judge's calls are metered for whoever asked the score
        hold = await spend.acheck(meter.payer if meter else None, source=CallSource.JUDGE,
                                  provider=provider, model=model, prompt=self.prompt(case),
                                  max_tokens=JUDGE_MAX_TOKENS)  # fmt: skip
        try:
            answer = await judge.complete(
                model=model, prompt=self.prompt(case), max_tokens=JUDGE_MAX_TOKENS,
                temperature=0.0,
            )  # fmt: skip
            hold.finish(prompt_tokens=answer.prompt_tokens,
                        completion_tokens=answer.completion_tokens)  # fmt: skip
        finally:
            await spend.adone(hold)
        score, reasoning = _verdict(answer.text, provider)
        await cache.aset(f"{CACHE_PREFIX}{key}", (score, reasoning), timeout=None)
        return Result(score, {"reasoning": reasoning, "judge": model, "cached": False})


def _verdict(text: str, provider: str) -> tuple[float, str]:
    match = JSON_OBJECT.search(text)
    try:
        verdict = json.loads(match.group(0)) if match else None
        score = float(verdict["score"])  # type: ignore[index]
    except (ValueError, TypeError, KeyError) as exc:
        raise providers.ProviderError(
            "The judge did not answer the JSON verdict asked for.",
            details={"provider": provider, "answer": text[:500]},
        ) from exc
    if not 0.0 <= score <= 1.0:
        raise providers.ProviderError(
            f"The judge gave a score outside 0..1: {score}", details={"provider": provider}
        )
    return score, str(verdict.get("reasoning", ""))  # type: ignore[union-attr]


FAITHFULNESS = JudgeMetric("faithfulness", "LLM judge: claims supported by context and reference")
RELEVANCE = JudgeMetric("relevance", "LLM judge: the response answers the input")
COHERENCE = JudgeMetric("coherence", "LLM judge: the response is clear and consistent")
