"""The pattern that froze, then killed, a web worker under Python's regex engine, sent through
every entry point of the production server (one web worker, so that /health lands on the same
one): /health keeps answering meanwhile and the worker is the same process after. Then a
plugin that spins forever, through the same entry points."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import runner, services
from benchmarks.datasets import Item
from tests.support.live import LiveServer
from tests.support.meanwhile import probed_during

PATHOLOGICAL = {"output": "a" * 29 + "!", "metrics": ["regex"], "parameters": {"pattern": "(a+)+$"}}


def _call(url: str, body: Any = None, token: str = "", timeout: float = 30) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _installed_spinner(folder: Path) -> Path:
    """A distribution declaring the spinning test plugin, as a package would: its metadata on
    the server's path."""
    info = folder / "site" / "spinning_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spinning-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[leaderboard.evaluators]\nspinner = tests.support.plugins:SPINNER\n"
    )
    return info.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    folder = Path(tmp_path_factory.mktemp("pathological"))
    site = _installed_spinner(folder)
    with LiveServer(folder, workers=1, PLUGIN_TIMEOUT="1", PYTHONPATH=str(site)) as live:
        live.manage("create_user", "alice", "--role", "user", "--password", "pw-" + "x" * 10)
        live.manage("create_user", "spin", "--role", "user", "--password", "pw-" + "x" * 10)
        status, body = _call(f"{live.url}/v1/auth/login",
                             {"username": "alice", "password": "pw-" + "x" * 10})  # fmt: skip
        assert status == 200, body
        yield live, body["token"]


def _health_while(server: LiveServer, work: Any) -> tuple[Any, list[float]]:
    """Run `work` while another thread asks /health every 20 ms; their latencies in ms."""

    def probe() -> None:
        assert _call(f"{server.url}/health", timeout=10)[0] == 200

    return probed_during(work, probe, every=0.02)


def _graphql(body: dict[str, Any]) -> dict[str, Any]:
    mutation = "mutation($input: EvaluationInput!) { createEvaluation(input: $input) { score } }"
    fields = {k: body[k] for k in ("output", "metrics", "parameters")}
    variables = {"input": {"provider": "", "model": "", "input": "", **fields}}
    return {"query": mutation, "variables": variables}


def _every_entry_point(live: LiveServer, token: str, body: dict[str, Any]) -> list[Any]:
    plugins = _call(f"{live.url}/v1/plugins?page_size=100", token=token)[1]["items"]
    plugin_id = next(p["id"] for p in plugins if p["name"] == body["metrics"][0])
    execute = {"input": {k: body[k] for k in ("output", "parameters")}}
    return [
        _call(f"{live.url}/v1/evaluations", body, token),
        _call(f"{live.url}/v1/plugins/{plugin_id}/execute", execute, token),
        _call(f"{live.url}/graphql", _graphql(body), token),
    ]


def test_the_pathological_pattern_through_each_entry_point(server: tuple[LiveServer, str]) -> None:
    live, token = server
    workers = live.worker_pids()
    assert len(workers) == 1
    answers, latencies = _health_while(live, lambda: _every_entry_point(live, token, PATHOLOGICAL))
    (rest_status, rest), (run_status, run), (gql_status, gql) = answers
    assert rest_status == 201 and rest["score"] == 0.0
    assert run_status == 200 and run["output"]["score"] == 0.0
    assert gql_status == 200 and gql["data"]["createEvaluation"]["score"] == 0.0, gql
    assert latencies and max(latencies) < 1000
    assert live.worker_pids() == workers  # the same worker, alive


def test_a_spinning_plugin_through_each_entry_point(server: tuple[LiveServer, str]) -> None:
    live, token = server
    workers = live.worker_pids()
    body = {"output": "x", "metrics": ["spinner"], "parameters": {}}
    answers, latencies = _health_while(live, lambda: _every_entry_point(live, token, body))
    (rest_status, rest), (run_status, run), (_, gql) = answers
    assert rest_status == 504 and rest["error"]["code"] == "PLUGIN_TIMEOUT"
    assert run_status == 504 and run["error"]["code"] == "PLUGIN_TIMEOUT"
    assert gql["errors"][0]["extensions"]["code"] == "PLUGIN_TIMEOUT", gql
    assert len(latencies) > 50  # /health answered all along (three calls of 1 s each)
    assert max(latencies) < 1000
    assert live.worker_pids() == workers


@pytest.mark.django_db
def test_the_pathological_pattern_in_a_benchmark_run(alice: Any, llm: Any) -> None:
    """A dataset whose expected answer is the pattern, scored by the regex metric."""
    llm.state.answers["Say a lot of a"] = "a" * 5000 + "!"
    services.dataset_create(name="pathological", items=[Item("Say a lot of a", {}, "(a+)+$")] * 20)
    run = services.benchmark_create(
        owner=alice, name="p", providers=[{"provider": "openai", "model": "tiny"}],
        dataset="pathological", metrics=["accuracy", "regex"],
    )  # fmt: skip
    started = time.monotonic()
    assert runner.run(str(run.pk)) == "completed"
    assert time.monotonic() - started < 10
    run.refresh_from_db()
    assert run.results[0]["metrics"]["regex"] == 0.0
