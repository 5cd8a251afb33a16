"""Evaluator plugins that misbehave, for the isolation tests (declared as entry points there)."""

from __future__ import annotations

import time

from benchmarks.metrics.base import Case, Result


class Boom:
    name, version, description = "boom", "0.1.0", "raises"

    def evaluate(self, case: Case) -> Result:
        raise RuntimeError("the plugin broke")


class Sleepy:
    name, version, description = "sleepy", "0.1.0", "takes too long"

    def evaluate(self, case: Case) -> Result:
        time.sleep(2)
        return Result(1.0)


BOOM, SLEEPY = Boom(), Sleepy()
