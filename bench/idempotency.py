"""Idempotency bench: what an `Idempotency-Key` adds to a POST (target: at most 1 ms).

The middleware runs around a view that answers at once, so the figures are its own work: a
POST without a key (baseline), with a new key (the claim's INSERT in its own transaction, then
the UPDATE that keeps the answer) and with a key already answered (one SELECT, the replay).
The caller is resolved beforehand, as the rate limiter has done by then in the real stack.
Wall time includes the database's work (on PostgreSQL, a new key's two commits each wait for
the write-ahead log's flush); CPU time is this process's alone.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import isolated_environment, save

BODY = b'{"output": "{\\"answer\\": 42}", "expected": "42", "metrics": ["exact_match", "f1"]}'
ROUNDS, PER_ROUND = 7, 300


def _setup() -> tuple[Callable[[str | None], Any], Any]:
    from django.http import JsonResponse
    from django.test import RequestFactory

    from leaderboard_site.accounts import services
    from leaderboard_site.accounts.authentication import Principal
    from leaderboard_site.api.idempotency import idempotency

    user, _ = services.user_create(username="bench-idem", role="user", password="bench-pw-123")
    principal = Principal(user=user, role=user.role, via="jwt")
    factory = RequestFactory()
    answer = {"evaluation_id": str(uuid.uuid4()), "score": 1.0, "metrics": {"f1": 1.0}}
    middleware = idempotency(lambda request: JsonResponse(answer, status=201))

    def post(key: str | None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        request = factory.post("/v1/evaluations", BODY, content_type="application/json",
                               headers=headers)  # fmt: skip
        request._principal = (principal, None)  # type: ignore[attr-defined]
        return middleware(request)

    return post, user


def _ms_per_post(
    post: Callable[[str | None], Any], keys: Callable[[int], str | None]
) -> tuple[float, float]:
    """The median over rounds of the wall time and of this process's CPU time per POST (ms)."""
    wall, cpu = [], []
    for round_ in range(ROUNDS):
        started, started_cpu = time.perf_counter(), time.process_time()
        for n in range(PER_ROUND):
            post(keys(round_ * PER_ROUND + n))
        wall.append((time.perf_counter() - started) / PER_ROUND * 1000)
        cpu.append((time.process_time() - started_cpu) / PER_ROUND * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main(duration: int = 10) -> dict[str, Any]:
    with isolated_environment():
        from django.db import connection

        post, _ = _setup()
        run = uuid.uuid4().hex[:8]
        baseline = _ms_per_post(post, lambda n: None)
        new_key = _ms_per_post(post, lambda n: f"{run}-{n}")
        replay = _ms_per_post(post, lambda n: f"{run}-{n % 50}")
        results = {
            "database": connection.vendor,
            "baseline_ms": round(baseline[0], 4),
            "new_key_added_ms": round(new_key[0] - baseline[0], 4),
            "replay_added_ms": round(replay[0] - baseline[0], 4),
            "new_key_added_cpu_ms": round(new_key[1] - baseline[1], 4),
            "replay_added_cpu_ms": round(replay[1] - baseline[1], 4),
            "target_ms": 1.0,
        }
    for name, value in results.items():
        print(f"{name:>18}: {value}")
    save("idempotency", results)
    return results
