"""PostgreSQL restarted (down for a few seconds) under load, no process of ours restarted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.conftest import Answer, call, stack

pytestmark = pytest.mark.slow

DOWN = 4.0
READS = ("/api/v1/models/?page_size=5", "/api/votes/model/01-ai/Yi-1.5-34B-Chat", "/health")


def _load(url: str, key: str, stop: threading.Event, answers: list[tuple[float, Answer]]) -> None:
    """Reads that need the database, and a vote up and down, as fast as one client can."""
    direction = "up"
    while not stop.is_set():
        for path in READS:
            answers.append((time.monotonic(), call(url + path, timeout=10)))
        vote = call(url + "/api/votes/01-ai/Yi-1.5-34B-Chat", method="POST",
                    body={"vote_type": direction}, headers={"X-API-Key": key})  # fmt: skip
        answers.append((time.monotonic(), vote))
        if vote.status == 201:  # a refused vote changed nothing: the same one again
            direction = "down" if direction == "up" else "up"


def _expected(answer: Answer) -> bool:
    """An answer, in the envelope when an error: a 503 while the database is away (the health
    check's own 503 included), never a 500 or a dropped connection."""
    if answer.status in (200, 201):
        return True
    return answer.status == 503 and answer.json().get("error", answer.json()).get("code") in (
        "SERVICE_UNAVAILABLE",
        None,
    )


def test_requests_during_a_restart_get_503_and_none_fail_after_it(tmp_path: Path) -> None:
    with stack(tmp_path) as site:
        site.server.manage("load_demo_data")
        keys = site.api_keys("alice", "bob")
        stop, answers = threading.Event(), []
        loaders = [threading.Thread(target=_load, args=(site.url, key, stop, answers))
                   for key in keys]  # fmt: skip
        for loader in loaders:
            loader.start()
        time.sleep(2)
        stopped_at = time.monotonic()
        site.pg.stop()
        time.sleep(DOWN)
        site.pg.start()
        started_at = time.monotonic()
        time.sleep(6)
        stop.set()
        for loader in loaders:
            loader.join()

        during = [a for t, a in answers if stopped_at <= t <= started_at + 1]
        after = [a for t, a in answers if t > started_at + 1]
        print(f"\nPostgreSQL down {DOWN:.0f} s: {len(during)} requests, statuses "
              f"{dict(Counter(a.status for a in during))}; after: {len(after)} requests, "
              f"statuses {dict(Counter(a.status for a in after))}")  # fmt: skip
        unexpected = [(a.status, a.body[:300]) for a in during if not _expected(a)]
        assert not unexpected
        assert 503 in {a.status for a in during}
        assert after and {a.status for a in after} <= {200, 201}, [
            (a.status, a.body[:300]) for a in after if a.status not in (200, 201)
        ]
        assert '"status_code":500' not in site.server.log.read_text()
