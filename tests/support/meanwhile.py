"""Watching a process stay responsive: run some work while a thread keeps probing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def probed_during(
    work: Callable[[], T], probe: Callable[[], None], every: float
) -> tuple[T, list[float]]:
    """`work()`'s result, and the milliseconds each `probe()` took while it ran (one probe
    every `every` seconds, from another thread)."""
    latencies: list[float] = []
    done = threading.Event()

    def keep_probing() -> None:
        while not done.is_set():
            started = time.perf_counter()
            probe()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(every)

    prober = threading.Thread(target=keep_probing)
    prober.start()
    try:
        return work(), latencies
    finally:
        done.set()
        prober.join()
