"""Subscriptions bench: an event's delivery time, from `publish()` to the frame received, over
GraphQL (`submissionStatus`, a graphql-transport-ws `next` frame at /graphql) beside /ws (the
`submission.status` event) on the same server, for the same events.

The server runs as `make run` starts it (gunicorn's ASGI worker); this process publishes as a
worker would: through Redis with REDIS_URL, else through the database relay, whose readers
look for new events every REALTIME_RELAY_INTERVAL (0.25 s by default; the figures then mostly
measure that interval, so the relay is also run at 0.01 s).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.common import free_port, isolated_environment, save, server

EVENTS = 200
QUERY = 'subscription { submissionStatus(model: "bench/sub") { model status timestamp } }'


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 3),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
            "max_ms": round(ordered[-1], 3)}  # fmt: skip


def _publish(n: int) -> None:
    from leaderboard_site.realtime import topics
    from leaderboard_site.realtime.publish import publish

    data = {"model": "bench/sub", "revision": "a" * 40, "precision": "bfloat16",
            "previous": "PENDING", "status": f"S{n}"}  # fmt: skip
    publish(topics.SUBMISSION_STATUS, data)


async def _deliveries(base: str) -> dict[str, list[float]]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        await ws.send_json({"type": "subscribe", "topics": ["submission.status"]})
        assert (await ws.receive_json(timeout=10))["type"] == "ack"
        gql = await session.ws_connect(f"{base}/graphql", protocols=("graphql-transport-ws",))
        await gql.send_json({"type": "connection_init", "payload": {}})
        assert (await gql.receive_json(timeout=10))["type"] == "connection_ack"
        await gql.send_json({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})
        await asyncio.sleep(0.5)  # the subscription has joined its group
        seen: dict[str, list[float]] = {"graphql": [], "ws": []}
        for n in range(EVENTS):
            started = time.perf_counter()
            await asyncio.to_thread(_publish, n)

            async def arrival(
                socket: Any, name: str, status: str = f"S{n}", started: float = started
            ) -> None:
                while True:
                    message = await socket.receive_json(timeout=10)
                    data = (message.get("payload", {}).get("data") or {}).get("submissionStatus")
                    if (data or message.get("data") or {}).get("status") == status:
                        seen[name].append((time.perf_counter() - started) * 1000)
                        return

            await asyncio.gather(arrival(gql, "graphql"), arrival(ws, "ws"))
            await asyncio.sleep(0.01)
        await gql.close()
        await ws.close()
        return seen


def _measure(env: dict[str, str], label: str) -> dict[str, Any]:
    from leaderboard_site.serve import asgi_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(asgi_command(f"127.0.0.1:{port}", 1), env, f"{base}/health"):
        seen = asyncio.run(_deliveries(base))
    result = {name: _percentiles(samples) for name, samples in seen.items()}
    print(f"  {label}: graphql next p50 {result['graphql']['p50_ms']} ms, p99 "
          f"{result['graphql']['p99_ms']} ms | /ws event p50 {result['ws']['p50_ms']} ms, p99 "
          f"{result['ws']['p99_ms']} ms ({EVENTS} events)")  # fmt: skip
    return result


def main(duration: int = 10) -> dict[str, Any]:
    results: dict[str, Any] = {"events": EVENTS}
    with isolated_environment() as env:
        from django.conf import settings

        if settings.REDIS_URL:
            results["redis"] = _measure(env, "channel layer (Redis)")
        else:
            interval = str(settings.REALTIME_RELAY_INTERVAL)
            results[f"relay_{interval}s"] = _measure(env, f"database relay ({interval} s)")
            fast = {**env, "REALTIME_RELAY_INTERVAL": "0.01"}
            results["relay_0.01s"] = _measure(fast, "database relay (0.01 s)")
    print(f"  saved {save('graphql_subscriptions', results)}")
    return results
