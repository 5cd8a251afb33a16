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


class Spinner:
    """Spins in Python code, holding its interpreter's lock, until it is killed."""

    name, version, description = "spinner", "0.1.0", "never returns"

    def evaluate(self, case: Case) -> Result:
        while True:
            pass


class Hog:
    """Asks for far more memory than a plugin process may have."""

    name, version, description = "hog", "0.1.0", "allocates 8 GB"

    def evaluate(self, case: Case) -> Result:
        return Result(float(len(bytearray(8 << 30)) > 0))


BOOM, SLEEPY, SPINNER, HOG = Boom(), Sleepy(), Spinner(), Hog()
