"""What an evaluator is: a name, a version, and `evaluate(case) -> Result`, scored in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Case:
    output: str
    expected: str | None = None
    input: str | None = None
    context: str | None = None
    latency_ms: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    score: float
    details: dict[str, Any] = field(default_factory=dict)


class Evaluator(Protocol):
    """Computes a score; runs in a sandbox process (no Django there), loaded by its entry
    point."""

    name: str
    version: str
    description: str

    def evaluate(self, case: Case) -> Result: ...


@runtime_checkable
class AsyncEvaluator(Protocol):
    """Waits on the network for its score (an LLM judge); runs as a coroutine in its caller."""

    name: str
    version: str
    description: str

    async def aevaluate(self, case: Case) -> Result: ...


class BadInput(ValueError):
    """This case cannot be scored by this metric, through no fault of the plugin (400)."""


class NeedsExpected(BadInput):
    """The metric compares with `expected`, and the case has none."""


@dataclass(frozen=True)
class Metric:
    """A plain function as an evaluator."""

    name: str
    description: str
    function: Any
    version: str = "1.0.0"

    def evaluate(self, case: Case) -> Result:
        result = self.function(case)
        return result if isinstance(result, Result) else Result(float(result))
