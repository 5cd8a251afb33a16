"""Auth bench: what authentication and the rate limiter cost per request.

- requests/s of a small public endpoint, anonymous vs with a JWT vs with an API key, as ratios
  to the anonymous figure (target: authentication costs at most 15%);
- the rate limiter's own cost per request: requests/s with limits on vs lifted, and the
  in-process time of one bucket update (Redis when REDIS_URL is set, local otherwise).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import PROJECT, free_port, gunicorn, isolated_environment, save, server, wrk

URL = "/api/v1/models/?page_size=1&search=no-such-model"


def _credentials() -> dict[str, dict[str, str]]:
    from leaderboard_site.accounts import services, tokens

    user, _ = services.user_create(username="bench-user", role="user", password="bench-pw-123")
    token, _ = tokens.issue(username=user.username, role=user.role)
    key = services.api_key_create(owner=user, name="bench").key
    return {
        "anonymous": {},
        "jwt": {"Authorization": f"Bearer {token}"},
        "api_key": {"X-API-Key": key},
    }


def _take_us() -> float:
    from leaderboard_site.api import ratelimit

    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for n in range(2000):
            ratelimit.take(f"bench:{n % 50}", rate=1e9, burst=1_000_000)
        samples.append((time.perf_counter() - started) / 2000 * 1e6)
    return statistics.median(samples)


def main(duration: int = 10) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with isolated_environment() as env:
        credentials = _credentials()
        for limits in ("lifted", "on"):
            run_env = {**env, "BENCH_LIFT_RATE_LIMITS": "1" if limits == "lifted" else "0",
                       "RATE_LIMIT_RPS": "1000000", "RATE_LIMIT_BURST": "1000000"}  # fmt: skip
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with server(gunicorn(port), run_env, f"{base}/health"):
                for headers in credentials.values():  # warm up: connections, caches, imports
                    wrk(f"{base}{URL}", headers=headers, duration=2)
                results[limits] = {
                    name: wrk(f"{base}{URL}", headers=headers, duration=duration)
                    for name, headers in credentials.items()
                }
        results["take_us"] = round(_take_us(), 1)
    anonymous = results["lifted"]["anonymous"].requests_per_s
    for name in ("anonymous", "jwt", "api_key"):
        lifted, on = results["lifted"][name], results["on"][name]
        print(
            f"  {name:<9} {lifted.requests_per_s:8.1f} req/s (p99 {lifted.p99_ms:6.2f} ms) "
            f"= {lifted.requests_per_s / anonymous:.2f}x anonymous | with rate limits "
            f"{on.requests_per_s:8.1f} req/s = {on.requests_per_s / lifted.requests_per_s:.2f}x"
        )
    backend = "Redis" if env.get("REDIS_URL") else "local"
    print(f"  one bucket update ({backend}): {results['take_us']} us in-process")
    path = save("auth", results)
    print(
        f"  target: authentication costs <= 15% (ratio >= 0.85). Saved {path.relative_to(PROJECT)}"
    )
    return results
