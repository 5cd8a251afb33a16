"""Sent once a benchmark run's status or progress change is committed, with `benchmark` (its
state then), `status`, `progress`, `done` and `total`.

The realtime layer turns it into `benchmark.progress` events.
"""

from django.dispatch import Signal

benchmark_progressed = Signal()

# Sent once a POST /v1/evaluations result is committed, with `evaluation`.
evaluation_created = Signal()
