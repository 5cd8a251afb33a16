"""Redis frozen (SIGSTOP) for 15 s under load, then let go (SIGCONT), nothing restarted."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.conftest import Answer, call, stack

pytestmark = pytest.mark.slow

PAUSE = 15.0
CREDENTIALS = {"username": "alice", "password": "pw-" + "x" * 12}
LISTS = ("/api/leaderboard", "/api/leaderboard/formatted")


def _load(url: str, stop: threading.Event, answers: list[tuple[float, str, Answer]]) -> None:
    """Both full lists, gzipped as browsers ask for them, as fast as one client can."""
    while not stop.is_set():
        for path in LISTS:
            answer = call(url + path, headers={"Accept-Encoding": "gzip"}, timeout=10)
            answers.append((time.monotonic(), path, answer))


def test_the_lists_answer_from_memory_and_writes_fail_fast_or_succeed(tmp_path: Path) -> None:
    with stack(tmp_path, RATE_LIMIT_ENABLED="true", RATE_LIMIT_RPS="100000") as site:
        site.server.manage("load_demo_data")
        key = site.api_key("alice")
        auth = {"X-API-Key": key}
        for path in LISTS:  # each list held in the web process's memory
            assert call(site.url + path).status == 200

        stop, answers = threading.Event(), []
        loaders = [threading.Thread(target=_load, args=(site.url, stop, answers)) for _ in range(2)]
        for loader in loaders:
            loader.start()
        time.sleep(1)
        site.redis.pause()
        paused_at = time.monotonic()
        try:
            time.sleep(2)  # the web process notices
            login = call(site.url + "/v1/auth/login", method="POST", body=CREDENTIALS, timeout=10)
            vote = call(site.url + "/api/votes/01-ai/Yi-1.5-34B-Chat", method="POST",
                        body={"vote_type": "up"}, headers=auth, timeout=20)  # fmt: skip
            time.sleep(max(0.0, PAUSE - (time.monotonic() - paused_at)))
        finally:
            site.redis.resume()
        resumed_at = time.monotonic()
        time.sleep(3)
        stop.set()
        for loader in loaders:
            loader.join()

        during = [a for t, _, a in answers if paused_at <= t <= resumed_at]
        after = [a for t, _, a in answers if t > resumed_at + 1]
        seconds = [a.seconds for a in during]
        statuses = dict(Counter(a.status for a in during))
        print(f"\nRedis paused {PAUSE:.0f} s: {len(during)} list requests, statuses {statuses}, "
              f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s; "
              f"after: {dict(Counter(a.status for a in after))}")  # fmt: skip
        print(f"login during: {login.status} {login.code} in {login.seconds:.2f} s; "
              f"vote during: {vote.status} in {vote.seconds:.2f} s")  # fmt: skip
        assert {a.status for a in during} == {200}
        assert after and {a.status for a in after} == {200}
        assert login.status == 503 and login.code == "SERVICE_UNAVAILABLE", login.body
        assert login.seconds <= 1.0
        assert vote.status == 201, vote.body

        # Recovered without a restart: Redis is used again.
        assert call(site.url + "/health").json()["checks"]["cache"]["status"] == "up"
        again = call(site.url + "/v1/auth/login", method="POST", body=CREDENTIALS)
        assert again.status == 200, again.body
