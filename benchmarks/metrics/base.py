"""What an evaluator is: a name, a version, and `evaluate(case) -> Result`, scored in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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
    name: str
    version: str
    description: str

    def evaluate(self, case: Case) -> Result: ...


class NeedsExpected(ValueError):
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
