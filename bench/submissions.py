"""Submissions bench.

- POST /api/models/submit: the endpoint's own time per request with the local Hub server (in
  this process) answering instantly: p50/p99 over distinct models (target p99 <= 30 ms), beside
  GET /health on the same server as the floor;
- GET /api/models/status and /api/models/pending with 10,000 requests in the table: requests/s,
  beside nginx serving the same bytes from a file;
- a results file to an updated leaderboard: publishing a finished evaluation (parse, score, entry,
  request FINISHED) and rebuilding the served snapshot, on the 4,576-model demo leaderboard.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT,
    free_port,
    gunicorn,
    isolated_environment,
    nginx_serving,
    save,
    server,
    wrk,
)

SUBMISSIONS = 400
QUEUE = 10_000


def _post(url: str, body: dict[str, Any], token: str) -> tuple[int, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )  # fmt: skip
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, (time.perf_counter() - started) * 1000


def _get_ms(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
    }


def _submit(env: dict[str, str]) -> dict[str, Any]:
    from leaderboard_site.accounts import services, tokens
    from tests.submissions.conftest import publish
    from tests.support.hub_server import HubServer

    user, _ = services.user_create(username="bench-submitter", role="admin")  # no quota
    token, _ = tokens.issue(username=user.username, role=user.role)
    with tempfile.TemporaryDirectory() as root, HubServer(Path(root)) as hub:
        for index in range(SUBMISSIONS):
            publish(hub, f"bench/model-{index}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        run_env = {**env, "HF_ENDPOINT": hub.url, "SUBMISSION_QUOTA": "100000"}
        with server(gunicorn(port), run_env, f"{base}/health"):
            health = [_get_ms(f"{base}/health") for _ in range(SUBMISSIONS)]
            for _ in range(20):  # warm up both workers (imports, connections)
                _post(f"{base}/api/models/submit", {"model_id": "bench/missing", "precision":
                      "float16", "model_type": "chat"}, token)  # fmt: skip
            timings, statuses = [], []
            for index in range(SUBMISSIONS):
                body = {"model_id": f"bench/model-{index}", "precision": "bfloat16",
                        "model_type": "fine-tuned"}  # fmt: skip
                status, ms = _post(f"{base}/api/models/submit", body, token)
                statuses.append(status)
                timings.append(ms)
    return {
        "submit": _percentiles(timings),
        "health": _percentiles(health),
        "accepted": statuses.count(201),
        "requests": SUBMISSIONS,
    }


def _fill_queue() -> None:
    """QUEUE requests, and votes on them (0-6 each, from 50 people): scores are aggregated."""
    from django.utils import timezone

    from leaderboard_site.accounts.models import User
    from submissions.models import EvalRequest, Status
    from votes.models import Vote

    rng = random.Random(4)
    statuses = [Status.PENDING] * 2 + [Status.FINISHED] * 6 + [Status.FAILED, Status.EVALUATING]
    now = timezone.now()
    EvalRequest.objects.bulk_create(
        [
            EvalRequest(
                model_name=f"org{i % 300}/model-{i}", revision=f"{i:040x}", precision="bfloat16",
                weight_type="Original", model_type="chat", sender=f"user{i % 700}",
                mirror_path=f"org{i % 300}/model-{i}.json", status=rng.choice(statuses),
                started_at=now,
            )
            for i in range(QUEUE)
        ],
        batch_size=2000,
    )  # fmt: skip
    voters = User.objects.bulk_create([User(username=f"voter{j}", role="user") for j in range(50)])
    Vote.objects.bulk_create(
        [
            Vote(user=voter, model_name=f"org{i % 300}/model-{i}", revision=f"{i:040x}",
                 precision="bfloat16", vote_type=rng.choice(["up", "up", "down"]))
            for i in range(QUEUE)
            for voter in rng.sample(voters, rng.randint(0, 6))
        ],
        batch_size=5000,
    )  # fmt: skip


def _status(env: dict[str, str], duration: int) -> dict[str, Any]:
    _fill_queue()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gzip_header = {"Accept-Encoding": "gzip"}
    results: dict[str, Any] = {}
    with server(gunicorn(port), env, f"{base}/health"):
        bodies = {}
        for name in ("status", "pending"):
            url = f"{base}/api/models/{name}"
            with urllib.request.urlopen(url) as response:
                bodies[name] = response.read()
            wrk(url, headers=gzip_header, duration=2)  # warm up
            results[name] = wrk(url, headers=gzip_header, duration=duration)
    with nginx_serving({f"{k}.json": gzip.compress(v, 4) for k, v in bodies.items()}) as ref:
        for name in bodies:
            wrk(f"{ref}/{name}.json", headers=gzip_header, duration=2)
            results[f"nginx_{name}"] = wrk(f"{ref}/{name}.json", headers=gzip_header,
                                           duration=duration)  # fmt: skip
    results["sizes"] = {name: len(body) for name, body in bodies.items()}
    return results


def _publish() -> dict[str, float]:
    from django.core.management import call_command

    from leaderboard.snapshot import snapshot_rebuild
    from submissions import services
    from submissions.models import EvalRequest, Status
    from tests.submissions.test_results import results_file

    call_command("load_demo_data", verbosity=0)
    snapshot_rebuild()
    timings: dict[str, list[float]] = {"publish": [], "rebuild": []}
    for attempt in range(5):
        request = EvalRequest.objects.create(
            model_name=f"bench/published-{attempt}", revision="c" * 40, precision="bfloat16",
            weight_type="Original", model_type="chat", mirror_path=f"bench/p-{attempt}.json",
            status=Status.EVALUATING, job_id="bench",
        )  # fmt: skip
        started = time.perf_counter()
        assert services.request_complete(request, job_id="bench", results=results_file(),
                                         seconds=3600)  # fmt: skip
        published = time.perf_counter()
        snapshot_rebuild()
        rebuilt = time.perf_counter()
        timings["publish"].append((published - started) * 1000)
        timings["rebuild"].append((rebuilt - published) * 1000)
    publish, rebuild = statistics.median(timings["publish"]), statistics.median(timings["rebuild"])
    return {"publish_ms": round(publish, 1), "rebuild_ms": round(rebuild, 1),
            "total_ms": round(publish + rebuild, 1)}  # fmt: skip


def main(duration: int = 10) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with isolated_environment() as env:
        results["submit"] = _submit(env)
        results["status"] = _status(env, duration)
    with isolated_environment():
        results["publish"] = _publish()
    submit = results["submit"]
    print(
        f"  submit: p50 {submit['submit']['p50_ms']} ms, p99 {submit['submit']['p99_ms']} ms over "
        f"{submit['requests']} submissions ({submit['accepted']} accepted) | GET /health p99 "
        f"{submit['health']['p99_ms']} ms | p99 / 30 ms target = "
        f"{submit['submit']['p99_ms'] / 30:.2f}"
    )
    status = results["status"]
    for name in ("status", "pending"):
        ours, ref = status[name], status[f"nginx_{name}"]
        print(
            f"  GET /api/models/{name} ({status['sizes'][name]:,} bytes, {QUEUE:,} requests): "
            f"{ours.requests_per_s:8.1f} req/s p99 {ours.p99_ms:.2f} ms | nginx "
            f"{ref.requests_per_s:8.1f} req/s = {ours.requests_per_s / ref.requests_per_s:.2f}x"
        )
    publish = results["publish"]
    print(
        f"  results file -> leaderboard: publish {publish['publish_ms']} ms + snapshot rebuild "
        f"{publish['rebuild_ms']} ms = {publish['total_ms']} ms (4,576 + 1 entries)"
    )
    path = save("submissions", results)
    print(f"  target: submit p99 <= 30 ms. Saved {path.relative_to(PROJECT)}")
    return results
