"""A model provider that never answers: its calls end at the per-call timeout, no more of them
than its cap hold a web thread, and everything else keeps answering meanwhile."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.conftest import Answer, call, stack
from tests.support.llm_server import LLMServer

pytestmark = pytest.mark.slow

TIMEOUT, CAP, HANGING_CALLS = 2.0, 2, 6


def _complete(url: str, key: str, provider: str) -> Answer:
    body = {"provider": provider, "model": "m-1", "prompt": "Say hi.", "max_tokens": 5}
    return call(f"{url}/v1/completions", method="POST", body=body,
                headers={"X-API-Key": key}, timeout=30)  # fmt: skip


def test_a_hanging_provider_holds_at_most_its_cap(tmp_path: Path) -> None:
    with LLMServer() as hanging, LLMServer() as healthy:
        hanging.state.delay = 60.0
        with stack(
            tmp_path,
            OPENAI_API_KEY="sk-faults", OPENAI_BASE_URL=f"{hanging.url}/v1",
            ANTHROPIC_API_KEY="sk-faults", ANTHROPIC_BASE_URL=healthy.url,
            PROVIDER_TIMEOUT=str(TIMEOUT), PROVIDER_MAX_RETRIES="0",
            PROVIDER_MAX_CONCURRENCY=str(CAP), HTTP_THREADS="8",
        ) as site:  # fmt: skip
            key = site.api_key("alice")
            assert _complete(site.url, key, "anthropic").status == 201  # warm
            stop, others = threading.Event(), []

            def meanwhile() -> None:
                while not stop.is_set():
                    for path in ("/health", "/api/leaderboard", "/api/leaderboard/formatted"):
                        others.append((path, call(site.url + path, timeout=10)))
                    others.append(("anthropic", _complete(site.url, key, "anthropic")))

            prober = threading.Thread(target=meanwhile)
            prober.start()
            with ThreadPoolExecutor(HANGING_CALLS) as pool:
                stuck = list(pool.map(lambda _: _complete(site.url, key, "openai"),
                                      range(HANGING_CALLS)))  # fmt: skip
            stop.set()
            prober.join()

    statuses = Counter(a.status for a in stuck)
    slowest_other = max(a.seconds for _, a in others)
    print(f"\nhanging provider: {HANGING_CALLS} calls -> {dict(statuses)}, codes "
          f"{dict(Counter(a.code for a in stuck))}, longest {max(a.seconds for a in stuck):.2f} s, "
          f"most in flight at the provider {hanging.state.most_in_flight} (cap {CAP}); "
          f"meanwhile {len(others)} other requests -> "
          f"{dict(Counter(a.status for _, a in others))}, "
          f"slowest {slowest_other:.2f} s")  # fmt: skip
    assert hanging.state.most_in_flight <= CAP
    assert all(a.status in (502, 503, 504) and a.code for a in stuck), [a.body for a in stuck]
    assert max(a.seconds for a in stuck) <= TIMEOUT + 2.0
    assert others and {a.status for _, a in others} <= {200, 201}
    assert slowest_other < TIMEOUT
