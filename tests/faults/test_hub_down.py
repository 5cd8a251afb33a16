"""The Hub down for the mirror for many of its intervals: the changes wait in the outbox, and
when the Hub is back each dataset gets them all in one commit."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from tests.faults.conftest import call, stack
from tests.support.hub_server import HubServer

pytestmark = pytest.mark.slow

ORG, INTERVAL, DOWN_INTERVALS = "open-llm-leaderboard", 1, 6
MODELS = ("01-ai/Yi-1.5-34B-Chat", "Qwen/Qwen2.5-72B-Instruct", "meta-llama/Llama-3.1-8B-Instruct")


def _tried(hub: HubServer, repo: str) -> int:
    """The mirror's requests to the dataset (each one refused while the Hub is down)."""
    return sum(1 for _, path in hub.requests if path.startswith(f"/api/datasets/{repo}"))


def _published(hub: HubServer, repo: str) -> list[bytes]:
    url = f"{hub.url}/datasets/{repo}/resolve/main/votes_data.jsonl"
    request = urllib.request.Request(url, headers={"Authorization": "Bearer hf_faults"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return [line for line in response.read().splitlines() if line.strip()]
    except OSError:
        return []


def test_nothing_is_lost_and_each_dataset_gets_one_commit(tmp_path: Path) -> None:
    repo = f"{ORG}/votes"
    with HubServer(tmp_path / "hub") as hub:
        hub.add_token("hf_faults", "maintainer", orgs=[ORG])
        with stack(tmp_path / "site", HF_TOKEN="hf_faults", HF_ENDPOINT=hub.url,
                   HF_ORGANIZATION=ORG, MIRROR_INTERVAL=str(INTERVAL)) as site:  # fmt: skip
            site.server.manage("load_demo_data")
            keys = site.api_keys("alice", "bob")
            site.start_worker("default", concurrency=2, beat=True)
            hub.fail_next(count=10**6, status=503, path_prefix=f"/api/datasets/{ORG}/")
            cast = 0
            for key in keys:
                for model in MODELS:
                    answer = call(f"{site.url}/api/votes/{model}", method="POST",
                                  body={"vote_type": "up"}, headers={"X-API-Key": key})  # fmt: skip
                    assert answer.status == 201, answer.body
                    cast += 1
            deadline = time.monotonic() + 60  # the worker starts, then the pushes are refused
            while (tried := _tried(hub, repo)) < DOWN_INTERVALS and time.monotonic() < deadline:
                time.sleep(INTERVAL)
            assert tried >= DOWN_INTERVALS
            assert hub.commits(repo) == []
            hub.heal()
            deadline = time.monotonic() + 30
            while len(_published(hub, repo)) < cast and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(3 * INTERVAL)  # any second commit would land meanwhile
            commits = hub.commits(repo)
            lines = _published(hub, repo)

    print(f"\nHub down: {tried} mirror requests to the votes dataset refused, one per "
          f"{INTERVAL} s interval at most; {cast} votes cast meanwhile; after: {len(lines)} "
          f"lines published in {len(commits)} commit(s)")  # fmt: skip
    assert len(lines) == cast
    assert len(commits) == 1
