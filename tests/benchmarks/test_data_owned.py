"""Data people own: deleting runs, completions, evaluations and datasets; exporting a run;
completions' text erased after COMPLETION_RETENTION_DAYS."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from benchmarks import runner, services, tasks
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, BenchmarkItem, Completion, Dataset, DatasetName
from benchmarks.signals import benchmark_progressed
from tests.conftest import client_for, read_body

pytestmark = pytest.mark.django_db

SUMS = [(12, 7, "19"), (45, 19, "64"), (8, 9, "18"), (30, 12, "42")]  # 8 + 9 is not 18


@pytest.fixture
def sums(alice: Any) -> Dataset:
    items = [
        Item("What is {{a}} plus {{b}}?", {"a": a, "b": b}, expected) for a, b, expected in SUMS
    ]
    return services.dataset_create(name="sums", items=items, created_by=alice)


@pytest.fixture
def answers(llm: Any) -> Any:
    for a, b, _ in SUMS:
        llm.state.answers[f"What is {a} plus {b}?"] = str(a + b)
    return llm


def start(client: Any, **body: Any) -> str:
    payload = {"name": "sums run", "providers": [{"provider": "openai", "model": "tiny-1"}],
               "dataset": "sums", **body}  # fmt: skip
    response = client.post("/v1/benchmarks", payload, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["benchmark_id"])


def completed_run(client: Any, **body: Any) -> str:
    benchmark_id = start(client, **body)
    assert runner.run(uuid.UUID(benchmark_id)) == "completed"
    return benchmark_id


def complete(client: Any, prompt: str = "Hello there") -> dict[str, Any]:
    body = {"provider": "openai", "model": "tiny", "prompt": prompt}
    response = client.post("/v1/completions", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- deleting -----------------------------------------------------------------------------------
def test_delete_your_completion_and_evaluation(alice_client, bob_client, admin_user, llm) -> None:
    completion = complete(alice_client)
    evaluation = alice_client.post(
        "/v1/evaluations", {"output": "{}", "metrics": ["json_valid"]}, format="json"
    ).json()
    paths = [f"/v1/completions/{completion['id']}",
             f"/v1/evaluations/{evaluation['evaluation_id']}"]  # fmt: skip
    for path in paths:
        refused = bob_client.delete(path)  # somebody else's: 404, as GET
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "NOT_FOUND"
        assert alice_client.get(path).status_code == 200
        assert alice_client.delete(path).status_code == 204
        assert alice_client.get(path).status_code == 404
        assert alice_client.delete(path).status_code == 404
    mine = complete(alice_client)
    assert client_for(admin_user).delete(f"/v1/completions/{mine['id']}").status_code == 204


def test_a_viewer_cannot_delete(alice, llm) -> None:
    from tests.conftest import make_user

    viewer = make_user("vic", "viewer")
    completion = Completion.objects.create(
        owner=viewer, provider="openai", model="m", prompt="p", text="t", prompt_tokens=1,
        completion_tokens=1, latency_ms=1.0, request_id="r",
    )  # fmt: skip
    response = client_for(viewer).delete(f"/v1/completions/{completion.pk}")
    assert response.status_code == 403 and Completion.objects.filter(pk=completion.pk).exists()


def test_delete_a_finished_run_and_its_items(alice_client, bob_client, sums, answers) -> None:
    benchmark_id = completed_run(alice_client)
    assert BenchmarkItem.objects.filter(benchmark_id=benchmark_id).count() == 4
    assert bob_client.delete(f"/v1/benchmarks/{benchmark_id}").status_code == 404
    assert bob_client.delete("/v1/benchmarks/not-a-uuid").status_code == 404
    assert alice_client.delete(f"/v1/benchmarks/{benchmark_id}").status_code == 204
    assert not Benchmark.objects.filter(pk=benchmark_id).exists()
    assert not BenchmarkItem.objects.filter(benchmark_id=benchmark_id).exists()
    assert alice_client.get(f"/v1/benchmarks/{benchmark_id}").status_code == 404


def test_deleting_a_pending_run_cancels_it_first(
    alice_client, sums, answers, django_capture_on_commit_callbacks
) -> None:
    benchmark_id = start(alice_client)
    seen: list[str] = []

    def on_progress(sender: Any, benchmark: Benchmark, status: str, **kwargs: Any) -> None:
        seen.append(status)

    benchmark_progressed.connect(on_progress)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert alice_client.delete(f"/v1/benchmarks/{benchmark_id}").status_code == 204
    finally:
        benchmark_progressed.disconnect(on_progress)
    assert seen == ["cancelled"]  # announced to its watchers
    # A worker that gets it later does nothing.
    assert runner.run(uuid.UUID(benchmark_id)) == "skipped"
    assert not answers.requests


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_deleting_a_running_run_stops_its_worker(alice, sums, answers, settings) -> None:
    client = client_for(alice)
    settings.BENCHMARK_STORE_INTERVAL = 0.1
    answers.state.delay = 0.05
    benchmark_id = start(client, iterations=400, concurrency=2)
    outcome: list[str] = []

    def work() -> None:
        try:
            outcome.append(runner.run(uuid.UUID(benchmark_id)))
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while BenchmarkItem.objects.count() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.delete(f"/v1/benchmarks/{benchmark_id}").status_code == 204
        worker.join(timeout=5)
        assert not worker.is_alive()
    finally:
        worker.join(timeout=30)
    assert outcome == ["stopped"]
    assert not Benchmark.objects.filter(pk=benchmark_id).exists()
    assert not BenchmarkItem.objects.filter(benchmark_id=benchmark_id).exists()


def test_delete_your_dataset_versions(alice, alice_client, bob_client, sums) -> None:
    items = [Item("Say {{w}}", {"w": "hi"}, "hi")]
    services.dataset_create(name="sums", items=items, created_by=alice)  # version 2
    refused = bob_client.delete("/v1/datasets/sums")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert alice_client.delete("/v1/datasets/sums?version=9").status_code == 404
    assert alice_client.delete("/v1/datasets/sums?version=2").status_code == 204
    assert list(Dataset.objects.filter(name="sums").values_list("version", flat=True)) == [1]
    assert alice_client.delete("/v1/datasets/sums").status_code == 204
    assert not Dataset.objects.filter(name="sums").exists()
    assert not DatasetName.objects.filter(name="sums").exists()  # the name is free again
    assert alice_client.get("/v1/datasets/sums").status_code == 404
    assert alice_client.delete("/v1/datasets/sums").status_code == 404


def test_shipped_datasets_are_admins_only(alice_client, admin_user) -> None:
    assert alice_client.delete("/v1/datasets/arithmetic").status_code == 403
    assert client_for(admin_user).delete("/v1/datasets/arithmetic").status_code == 204


def test_a_dataset_runs_used_is_kept_with_409_naming_them(alice_client, bob, sums, answers) -> None:
    mine = completed_run(alice_client)
    theirs = completed_run(client_for(bob))
    refused = alice_client.delete("/v1/datasets/sums")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "CONFLICT"
    assert refused.json()["error"]["details"] == {"benchmarks": [mine], "others": 1}
    assert Dataset.objects.filter(name="sums").count() == 1  # nothing deleted
    assert alice_client.delete(f"/v1/benchmarks/{mine}").status_code == 204
    assert client_for(bob).delete(f"/v1/benchmarks/{theirs}").status_code == 204
    assert alice_client.delete("/v1/datasets/sums").status_code == 204


# --- export -------------------------------------------------------------------------------------
def test_export_as_csv(alice_client, bob_client, sums, answers) -> None:
    benchmark_id = completed_run(alice_client)
    response = alice_client.get(f"/v1/benchmarks/{benchmark_id}/export?format=csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="benchmark-{benchmark_id}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(read_body(response).decode())))
    assert [r["prompt"] for r in rows] == [f"What is {a} plus {b}?" for a, b, _ in SUMS]
    assert [r["outcome"] for r in rows] == ["right", "right", "wrong", "right"]
    first = rows[0]
    assert (first["provider"], first["model"], first["output"], first["expected"]) == (
        "openai", "tiny-1", "19", "19")  # fmt: skip
    assert first["prompt_tokens"] == "5" and first["error"] == "" and first["cost"] == ""
    assert json.loads(first["scores"]) == {}
    assert bob_client.get(f"/v1/benchmarks/{benchmark_id}/export").status_code == 404


def test_export_as_jsonl_with_the_run_first(alice_client, sums, answers) -> None:
    benchmark_id = completed_run(alice_client, metrics=["accuracy", "exact_match"])
    response = alice_client.get(f"/v1/benchmarks/{benchmark_id}/export?format=jsonl")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in read_body(response).decode().splitlines()]
    head, items = lines[0], lines[1:]
    assert head["type"] == "benchmark" and head["benchmark_id"] == benchmark_id
    assert head["results"][0]["accuracy"] == 0.75
    assert [i["type"] for i in items] == ["item"] * 4
    assert [i["correct"] for i in items] == [True, True, False, True]
    assert items[2]["scores"] == {"exact_match": 0.0} and items[2]["output"] == "17"


def test_export_streams_in_chunks(alice_client, sums, answers, monkeypatch) -> None:
    from benchmarks.api import export

    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 3)
    benchmark_id = completed_run(alice_client, iterations=10)
    response = alice_client.get(f"/v1/benchmarks/{benchmark_id}/export?format=jsonl")
    chunks = list(response.streaming_content)
    assert len(chunks) == 4  # the run and 10 items: 11 lines, 3 a chunk
    assert sum(chunk.count(b"\n") for chunk in chunks) == 11


@pytest.mark.django_db(transaction=True)  # the ASGI handler's threads have connections of their own
def test_under_asgi_the_export_streams_from_a_thread(alice, sums, answers, monkeypatch) -> None:
    """Under the ASGI server the chunks are an async iterator whose rows are read in the
    request's stream thread (a sync iterator would be buffered whole, with a warning that
    fails this test; a query on the event loop would be refused)."""
    from benchmarks.api import export
    from leaderboard_site.accounts import tokens
    from tests.api.test_asgi_handler import body_of, call, head

    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 2)
    benchmark_id = completed_run(client_for(alice))
    token = tokens.issue(username="alice", role="user")[0]
    sent = call(f"/v1/benchmarks/{benchmark_id}/export?format=csv",
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    status, headers = head(sent)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert sum(1 for m in sent if m["type"] == "http.response.body" and m.get("body")) == 2
    rows = list(csv.DictReader(io.StringIO(body_of(sent).decode())))
    assert [r["output"] for r in rows] == ["19", "64", "17", "42"]


def test_export_is_gzipped_for_clients_that_take_it(alice_client, sums, answers) -> None:
    import gzip

    benchmark_id = completed_run(alice_client)
    path = f"/v1/benchmarks/{benchmark_id}/export?format=jsonl"
    plain = read_body(alice_client.get(path))
    response = alice_client.get(path, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    unpacked = gzip.decompress(read_body(response)).decode()
    assert [json.loads(line)["type"] for line in unpacked.splitlines()] == ["benchmark"] + [
        "item"
    ] * 4
    assert len(unpacked) == len(plain)


def test_export_refuses_an_unknown_format(alice_client, sums, answers) -> None:
    benchmark_id = completed_run(alice_client)
    response = alice_client.get(f"/v1/benchmarks/{benchmark_id}/export?format=xml")
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"
    assert response["Content-Type"] == "application/json"


# --- retention ----------------------------------------------------------------------------------
def test_old_completions_lose_their_text_but_keep_their_usage(alice_client, llm, settings) -> None:
    old, new = complete(alice_client, "An old question"), complete(alice_client, "A new one")
    Completion.objects.filter(pk=old["id"]).update(created_at=timezone.now() - timedelta(days=31))
    settings.COMPLETION_RETENTION_DAYS = None
    assert tasks.completions_purge().startswith("completions are kept")
    assert Completion.objects.get(pk=old["id"]).prompt == "An old question"

    settings.COMPLETION_RETENTION_DAYS = 30
    assert tasks.completions_purge() == "1 completions' prompt and text erased"
    purged = Completion.objects.get(pk=old["id"])
    assert (purged.prompt, purged.text) == ("", "")
    assert (purged.prompt_tokens, purged.completion_tokens) == (3, 5)  # "You said: ..."
    assert purged.latency_ms > 0 and purged.request_id
    assert Completion.objects.get(pk=new["id"]).text == "You said: A new one"
    assert tasks.completions_purge() == "0 completions' prompt and text erased"  # idempotent
    shown = alice_client.get(f"/v1/completions/{old['id']}").json()
    assert shown["text"] == "" and shown["usage"]["total_tokens"] == 8


def test_the_purge_goes_in_batches(alice, monkeypatch) -> None:
    monkeypatch.setattr(services, "PURGE_BATCH", 2)
    long_ago = timezone.now() - timedelta(days=10)
    for n in range(5):
        Completion.objects.create(
            owner=alice, provider="openai", model="m", prompt=f"p{n}", text="t",
            prompt_tokens=1, completion_tokens=1, latency_ms=1.0, request_id="r",
        )  # fmt: skip
    Completion.objects.update(created_at=long_ago)
    assert services.completions_purge(days=1) == 5
    assert not Completion.objects.exclude(prompt="", text="").exists()
