"""Benchmark workers killed (-9) again and again while 50 runs go against the local model
server: every run ends exactly once, none lost, none run twice to its end."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.conftest import call, stack
from tests.support.llm_server import LLMServer

pytestmark = pytest.mark.slow

RUNS, ITEMS, KILLS = 50, 4, 6
# Celery's line for a task that ended a run, with the run it was given.
ENDED = r"succeeded in [\d.]+s: 'completed'.*?\"args\":\"\('([0-9a-f-]+)'"


def _pool_children(pid: int) -> list[int]:
    """The worker's pool processes (those running the tasks)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_every_run_ends_exactly_once(tmp_path: Path) -> None:
    with LLMServer() as llm:
        llm.state.delay = 0.2
        llm.state.answers.update({f"Question {n}?": str(n) for n in range(ITEMS)})
        with stack(
            tmp_path, OPENAI_API_KEY="sk-faults", OPENAI_BASE_URL=f"{llm.url}/v1",
            BENCHMARK_LEASE_SECONDS="3", BENCHMARK_STORE_INTERVAL="0.1",
            BENCHMARK_PROCESSES="1",
        ) as site:  # fmt: skip
            items = tmp_path / "questions.jsonl"
            items.write_text("".join(json.dumps({"prompt": f"Question {n}?", "expected": str(n)})
                                     + "\n" for n in range(ITEMS)))  # fmt: skip
            site.server.manage("import_dataset", "questions", str(items))
            key = site.api_key("alice")
            site.start_worker("default", concurrency=1, beat=True)
            worker = site.start_worker("benchmarks", concurrency=2, loglevel="INFO")
            body = {"name": "run", "providers": [{"provider": "openai", "model": "m-1"}],
                    "dataset": "questions", "metrics": ["accuracy"], "concurrency": 1}  # fmt: skip
            ids = []
            for _ in range(RUNS):
                answer = call(f"{site.url}/v1/benchmarks", method="POST", body=body,
                              headers={"X-API-Key": key})  # fmt: skip
                assert answer.status == 201, answer.body
                ids.append(answer.json()["benchmark_id"])

            killed = 0
            while killed < KILLS:
                time.sleep(2.5)
                children = _pool_children(worker.pid)
                if children:
                    os.kill(children[0], signal.SIGKILL)  # the OOM killer's way
                    killed += 1

            deadline, statuses = time.monotonic() + 120, Counter[str]()
            while time.monotonic() < deadline:
                listed = call(f"{site.url}/v1/benchmarks?page_size=100",
                              headers={"X-API-Key": key}).json()["items"]  # fmt: skip
                statuses = Counter(run["status"] for run in listed)
                if statuses["completed"] + statuses["failed"] == RUNS:
                    break
                time.sleep(1)
            runs = {run["benchmark_id"]: run for run in listed}
            log = (tmp_path / "worker-benchmarks.log").read_text()
            ended = re.findall(ENDED, log)

    asked = Counter(r["body"]["messages"][-1]["content"] for r in llm.requests)
    print(f"\n{RUNS} runs of {ITEMS} items, {killed} worker processes killed: statuses "
          f"{dict(statuses)}; tasks that ended a run: {len(ended)}; items asked "
          f"{sum(asked.values())} times for {RUNS * ITEMS} items (asked again: those in flight "
          f"when killed)")  # fmt: skip
    assert statuses == {"completed": RUNS}
    assert all(runs[i]["items_done"] == ITEMS for i in ids)
    assert Counter(ended) == dict.fromkeys(ids, 1)  # none lost, none ended twice
