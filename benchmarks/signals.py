"""Sent once a benchmark run's status or progress change is committed, with `benchmark` (its
state then), `status`, `progress`, `done` and `total`.

The realtime layer turns it into `benchmark.progress` events.
"""

from django.dispatch import Signal

benchmark_progressed = Signal()

# Sent once a POST /v1/evaluations result is committed, with `evaluation`.
evaluation_created = Signal()

# Sent once a spend cap first refuses a call in a period (once per budget and period, after
# commit), with `budget` (the Budget row), `user_id`, `api_key_id` (None for a user's own
# budget refusing a session's call), `benchmark_id` (None outside a run), `scope` ("user" or
# "api_key"), `period` ("day" or "month"), `cap`, `spent`, `reserved`, `needed` (USD as
# strings) and `resets_at` (ISO 8601, UTC).
budget_exceeded = Signal()
