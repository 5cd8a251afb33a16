"""Hostile-input bench: /health's latency on a web worker that callers keep sending the pattern
that used to freeze it (`(a+)+$` against "a" * 29 + "!", the regex metric), through REST,
plugin execute and GraphQL, from four threads at once.

One web worker, so that /health lands on the worker under attack. Prints /health's p50/p99
when idle and under attack, and their ratio (target: p99 under attack <= 100 ms).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from bench.common import PROJECT, free_port, gunicorn, isolated_environment, save, server

BODY = {"output": "a" * 29 + "!", "metrics": ["regex"], "parameters": {"pattern": "(a+)+$"}}
GRAPHQL = {
    "query": "mutation($input: EvaluationInput!) { createEvaluation(input: $input) { score } }",
    "variables": {"input": {"provider": "", "model": "", "input": "", **BODY}},
}


def _post(url: str, body: dict[str, Any], token: str) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _health_latencies(base: str, seconds: float) -> list[float]:
    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/health", timeout=30) as response:
            response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    return latencies


def _attack(base: str, token: str, plugin_id: str, stop: threading.Event, sent: list[int]) -> None:
    targets = [
        (f"{base}/v1/evaluations", BODY),
        (f"{base}/v1/plugins/{plugin_id}/execute", {"input": BODY}),
        (f"{base}/graphql", GRAPHQL),
    ]
    while not stop.is_set():
        for url, body in targets:
            assert _post(url, body, token) in (200, 201)
            sent.append(1)


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def main(duration: int = 10) -> dict[str, Any]:
    with isolated_environment() as env:
        from leaderboard_site.accounts import services, tokens

        user, _ = services.user_create(
            username="bench-attacker", role="user", password="pw-1234567"
        )
        token, _ = tokens.issue(username=user.username, role=user.role)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(gunicorn(port, workers=1), env, f"{base}/health"):
            request = urllib.request.Request(f"{base}/v1/plugins?page_size=100")
            request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request) as response:
                plugins = json.loads(response.read())["items"]
            plugin_id = next(p["id"] for p in plugins if p["name"] == "regex")
            _health_latencies(base, 1)  # warm up
            idle = _percentiles(_health_latencies(base, duration))
            stop, sent = threading.Event(), []
            attackers = [
                threading.Thread(target=_attack, args=(base, token, plugin_id, stop, sent))
                for _ in range(4)
            ]
            for thread in attackers:
                thread.start()
            attacked = _percentiles(_health_latencies(base, duration))
            stop.set()
            for thread in attackers:
                thread.join()
    results = {"idle": idle, "attacked": attacked, "attack_requests": len(sent)}
    print(f"  /health idle:         p50 {idle['p50_ms']:7.2f} ms, p99 {idle['p99_ms']:7.2f} ms")
    print(
        f"  /health under attack: p50 {attacked['p50_ms']:7.2f} ms, p99 {attacked['p99_ms']:7.2f}"
        f" ms ({len(sent)} pathological requests, {len(sent) / duration:.0f}/s) = "
        f"{attacked['p99_ms'] / idle['p99_ms']:.1f}x idle p99"
    )
    path = save("hostile", results)
    print(f"  target: p99 under attack <= 100 ms. Saved {path.relative_to(PROJECT)}")
    return results
