"""Benchmark runs: /v1/benchmarks, the worker's run against the local model server, results,
cancel, compare, resume, and owner scoping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from benchmarks import runner, services, tasks
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, BenchmarkItem, Price
from benchmarks.selectors import percentile
from benchmarks.signals import benchmark_progressed
from tests.conftest import PROJECT

pytestmark = pytest.mark.django_db

SUMS = [(12, 7, "19"), (45, 19, "64"), (8, 9, "18"), (30, 12, "42")]  # 8 + 9 is not 18


@pytest.fixture
def sums(db):
    """Four arithmetic items; the server answers each with a+b (so item 2 is answered wrong)."""
    items = [
        Item("What is {{a}} plus {{b}}?", {"a": a, "b": b}, expected) for a, b, expected in SUMS
    ]
    return services.dataset_create(name="sums", items=items)


@pytest.fixture
def answers(llm):
    for a, b, _ in SUMS:
        llm.state.answers[f"What is {a} plus {b}?"] = str(a + b)
    return llm


def start(client, **body):
    payload = {"name": "sums run", "providers": [{"provider": "openai", "model": "tiny-1"}],
               "dataset": "sums", "metrics": ["accuracy", "latency", "cost"], **body}  # fmt: skip
    return client.post("/v1/benchmarks", payload, format="json")


def run_to_end(client, **body) -> dict:
    response = start(client, **body)
    assert response.status_code == 201, response.content
    benchmark_id = response.json()["benchmark_id"]
    assert runner.run(benchmark_id) == "completed"
    return client.get(f"/v1/benchmarks/{benchmark_id}").json()


# --- the shapes and the figures -------------------------------------------------------
def test_a_run_is_created_pending_and_a_worker_answers_every_item(alice_client, sums, answers):
    response = start(alice_client)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["status"], created["progress"], created["results"]) == ("pending", 0.0, None)
    assert created["dataset"] == {"name": "sums", "version": 1}
    assert created["items_total"] == 4

    assert runner.run(created["benchmark_id"]) == "completed"
    body = alice_client.get(f"/v1/benchmarks/{created['benchmark_id']}").json()
    assert (body["status"], body["progress"], body["items_done"]) == ("completed", 1.0, 4)
    [result] = body["results"]
    assert (result["provider"], result["model"]) == ("openai", "tiny-1")
    assert result["items"] == 4 and result["errors"] == 0
    assert result["accuracy"] == 0.75  # 8 + 9 answered 17 is wrong
    assert result["tokens"] == {"input": 4 * 5, "output": 4}  # "What is a plus b?": 5 words
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert latency["mean"] > 0 and result["tokens_per_second"] > 0
    assert result["cost"] is None  # no price: never a made-up number
    assert len(answers.requests) == 4


def test_cost_uses_the_pricing_table(alice_client, sums, answers) -> None:
    Price.objects.create(provider="openai", model="tiny-1", input_per_million=Decimal("1"),
                         output_per_million=Decimal("4"))  # fmt: skip
    [result] = run_to_end(alice_client)["results"]
    # 20 input tokens x 1 + 4 output tokens x 4, per million
    assert result["cost"] == pytest.approx(0.000036)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == pytest.approx(3.97)
    assert percentile(list(map(float, range(1, 101))), 99) == pytest.approx(99.01)


def test_two_targets_and_the_items_pages(alice_client, sums, answers) -> None:
    body = run_to_end(
        alice_client,
        providers=[
            {"provider": "openai", "model": "tiny-1"},
            {"provider": "anthropic", "model": "claude-x"},
        ],
    )
    assert [(r["provider"], r["accuracy"]) for r in body["results"]] == [
        ("openai", 0.75), ("anthropic", 0.75)
    ]  # fmt: skip
    paths = sorted(request["path"] for request in answers.requests)
    assert paths == ["/v1/chat/completions"] * 4 + ["/v1/messages"] * 4
    url = f"/v1/benchmarks/{body['benchmark_id']}/items"
    page = alice_client.get(url, {"page_size": 3}).json()
    assert (page["total"], page["total_pages"], len(page["items"])) == (8, 3, 3)
    first = page["items"][0]
    assert first["prompt"] == "What is 12 plus 7?" and first["output"] == "19"
    assert (first["position"], first["target"], first["correct"]) == (0, 0, True)
    wrong = alice_client.get(url, {"outcome": "wrong"}).json()["items"]
    assert [(i["item_index"], i["provider"]) for i in wrong] == [(2, "openai"), (2, "anthropic")]
    assert alice_client.get(url, {"target": "1"}).json()["total"] == 4
    assert alice_client.get(url, {"outcome": "meh"}).status_code == 400
    for bad in ("2", "-1", "²", "99999999999999999999", "x"):
        assert alice_client.get(url, {"target": bad}).status_code == 400, bad


def test_iterations_cycle_through_the_dataset(alice_client, sums, answers) -> None:
    body = run_to_end(alice_client, iterations=7, concurrency=3)
    assert body["items_total"] == 7 and body["results"][0]["items"] == 7
    indexes = BenchmarkItem.objects.order_by("position").values_list("item__index", flat=True)
    assert list(indexes) == [0, 1, 2, 3, 0, 1, 2]
    assert len(answers.requests) == 7


def test_concurrency_is_honoured(alice_client, sums, answers) -> None:
    answers.state.delay = 0.1
    run_to_end(alice_client, iterations=12, concurrency=3)
    assert answers.state.most_in_flight == 3


def test_never_more_processes_than_calls_in_flight(
    alice_client, sums, answers, settings, monkeypatch
) -> None:
    settings.BENCHMARK_PROCESSES = 4

    def no_fork(*args, **kwargs):
        raise AssertionError("a run of concurrency 1 forked")

    monkeypatch.setattr(runner.Run, "_fork", no_fork)
    body = run_to_end(alice_client, iterations=300, concurrency=1)
    assert body["status"] == "completed" and answers.state.most_in_flight == 1


def test_evaluator_metrics_score_every_answer(alice_client, sums, answers,
                                              misbehaving_plugins) -> None:  # fmt: skip
    body = run_to_end(alice_client, metrics=["accuracy", "exact_match", "boom"])
    [result] = body["results"]
    assert result["metrics"] == {"exact_match": 0.75, "boom": None}  # boom raised: no score
    item = BenchmarkItem.objects.order_by("position").first()
    assert item.scores["exact_match"] == 1.0
    assert "the plugin broke" in item.scores["_errors"]["boom"]


# --- failures -------------------------------------------------------------------------
def test_failed_calls_are_counted_and_the_run_goes_on(alice_client, sums, answers,
                                                      settings) -> None:  # fmt: skip
    settings.PROVIDER_MAX_RETRIES = 0
    answers.fail_next(2, status=500)
    [result] = run_to_end(alice_client, concurrency=1)["results"]
    assert result["errors"] == 2
    assert result["accuracy"] == 0.25  # the two failed items count as wrong; one more is wrong
    failed = BenchmarkItem.objects.exclude(error="").order_by("position")
    assert [i.position for i in failed] == [0, 1]
    assert "injected 500" in failed[0].error


def test_an_item_the_provider_refuses_fails_alone(alice_client, sums, answers) -> None:
    answers.fail_next(1, status=400)  # e.g. too long for the model's context
    body = run_to_end(alice_client, concurrency=1)
    assert body["status"] == "completed"
    assert body["results"][0]["errors"] == 1
    assert "refused" in BenchmarkItem.objects.get(position=0).error


def test_retries_honour_retry_after(alice_client, sums, answers) -> None:
    answers.fail_next(1, status=429, retry_after=0.2)
    [result] = run_to_end(alice_client, concurrency=1)["results"]
    assert result["errors"] == 0
    first, retry = answers.requests[0], answers.requests[1]
    assert retry["time"] - first["time"] >= 0.2


def test_an_unknown_model_fails_the_run_with_the_reason(alice_client, sums, answers) -> None:
    answers.state.models = {"tiny-1"}
    response = start(alice_client, providers=[{"provider": "openai", "model": "nope"}])
    assert runner.run(response.json()["benchmark_id"]) == "failed"
    body = alice_client.get(f"/v1/benchmarks/{response.json()['benchmark_id']}").json()
    assert body["status"] == "failed"
    assert "nope" in body["error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"providers": [{"provider": "nobody", "model": "x"}]}, "known"),
        ({"dataset": "no-such-data"}, "known"),
        ({"metrics": ["telepathy"]}, "known"),
        ({"iterations": 0}, "iterations"),
        ({"concurrency": 65}, "concurrency"),
        ({"providers": []}, "providers"),
        ({"dataset_version": 9}, "dataset"),
    ],
)
def test_bad_runs_are_refused_and_nothing_is_stored(alice_client, sums, llm, change, field):
    response = start(alice_client, **change)
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    assert field in details or field in details["fields"]
    assert not Benchmark.objects.exists()


# --- progress, cancel, resume -----------------------------------------------------------
def test_every_progress_change_is_signalled(
    alice_client, sums, answers, settings, django_capture_on_commit_callbacks
) -> None:
    settings.BENCHMARK_STORE_INTERVAL = 0.05
    answers.state.delay = 0.06
    seen = []

    def record(sender, benchmark, status, progress, done, total, **kwargs):
        seen.append((status, progress))

    benchmark_progressed.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_to_end(alice_client, concurrency=1)
    finally:
        benchmark_progressed.disconnect(record)
    assert seen[0] == ("running", 0.0)
    assert seen[-1] == ("completed", 1.0)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and len(set(progress)) >= 3  # it moved as items came


def test_cancel_a_pending_run(alice_client, sums, answers) -> None:
    benchmark_id = start(alice_client).json()["benchmark_id"]
    response = alice_client.post(f"/v1/benchmarks/{benchmark_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert runner.run(benchmark_id) == "skipped"  # a worker picking it up later does nothing
    assert not answers.requests
    again = alice_client.post(f"/v1/benchmarks/{benchmark_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"


def test_a_run_resumes_without_asking_answered_items_again(
    alice_client, sums, answers, django_capture_on_commit_callbacks
) -> None:
    """A worker died after storing two answers: the next one asks the other two only."""
    benchmark_id = start(alice_client).json()["benchmark_id"]
    benchmark = Benchmark.objects.get(pk=benchmark_id)
    assert services.benchmark_claim(benchmark.pk, token="dead-worker")
    items = list(benchmark.dataset.items.order_by("index"))
    services.benchmark_record(benchmark, [
        BenchmarkItem(benchmark=benchmark, target=0, position=p, item=items[p], output=o,
                      correct=True, latency_ms=5.0, prompt_tokens=5, completion_tokens=1)
        for p, o in ((0, "19"), (1, "64"))
    ], token="dead-worker")  # fmt: skip
    assert runner.run(benchmark_id) == "skipped"  # the lease is still held
    Benchmark.objects.filter(pk=benchmark_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.benchmarks_reclaim() == [benchmark.pk]
    with django_capture_on_commit_callbacks():
        assert tasks.benchmarks_reclaim() == 1  # queued for a worker
        assert tasks.benchmarks_reclaim() == 0  # not again at the next tick
    assert runner.run(benchmark_id) == "completed"
    asked = [r["body"]["messages"][-1]["content"] for r in answers.requests]
    assert sorted(asked) == ["What is 30 plus 12?", "What is 8 plus 9?"]
    benchmark.refresh_from_db()
    assert (benchmark.attempts, benchmark.done, benchmark.progress) == (2, 4, 1.0)
    assert benchmark.results[0]["accuracy"] == 0.75


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_run_within_a_second(alice, sums, answers, settings) -> None:
    from tests.conftest import client_for

    client = client_for(alice)
    settings.BENCHMARK_STORE_INTERVAL = 0.1
    answers.state.delay = 0.05
    benchmark_id = start(client, iterations=400, concurrency=2).json()["benchmark_id"]
    outcome = []

    def work() -> None:
        try:
            outcome.append(runner.run(benchmark_id))
        finally:
            connections.close_all()  # this thread's own connection

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while BenchmarkItem.objects.count() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        response = client.post(f"/v1/benchmarks/{benchmark_id}/cancel")
        assert response.status_code == 200
        cancelled_at, cancelled_wall = time.monotonic(), time.time()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert time.monotonic() - cancelled_at < 1.5
    finally:
        worker.join(timeout=30)
    assert outcome == ["stopped"]
    body = client.get(f"/v1/benchmarks/{benchmark_id}").json()
    assert body["status"] == "cancelled"
    stored = BenchmarkItem.objects.count()
    assert body["results"][0]["items"] == stored < 400  # results summarize what was answered
    late = [r for r in answers.requests if r["time"] > cancelled_wall + 0.5]
    assert not late  # nothing asked once the worker noticed (at its next store, 0.1 s)


@pytest.mark.needs_shared_database
@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_resumed_and_answered_items_are_not_asked_again(
    alice, llm, tmp_path
) -> None:
    from tests.conftest import client_for
    from tests.submissions.test_evaluation import WORKER, _wait_for

    items = [Item(f"Question {n}?", {}, str(n)) for n in range(10)]
    services.dataset_create(name="questions", items=items)
    llm.state.answers.update({f"Question {n}?": str(n) for n in range(10)})
    llm.state.delays["Question 6?"] = 120.0  # the worker is killed while it waits for this one
    database = connection.settings_dict
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leaderboard_site.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "BENCHMARK_LEASE_SECONDS": "3",
        "BENCHMARK_STORE_INTERVAL": "0.1",
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OPENAI_API_KEY": "sk-test",
    }
    command = [sys.executable, *WORKER.replace("-Q evaluation", "-Q benchmarks").split(),
               "--without-gossip", "--without-mingle", "-n", "doomed@%h"]  # fmt: skip
    with (tmp_path / "worker.log").open("ab") as log:
        worker = subprocess.Popen(command, cwd=PROJECT, env=environ, start_new_session=True,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        client = client_for(alice)
        response = start(client, dataset="questions", concurrency=1)
        benchmark_id = response.json()["benchmark_id"]
        asked = lambda: [r["body"]["messages"][-1]["content"] for r in llm.requests]  # noqa: E731
        _wait_for(lambda: "Question 6?" in asked() and BenchmarkItem.objects.count() == 6, 60,
                  f"six answers stored ({tmp_path / 'worker.log'})")  # fmt: skip
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    del llm.state.delays["Question 6?"]
    _wait_for(lambda: services.benchmarks_reclaim() == [uuid.UUID(benchmark_id)], 10, "the lease")
    assert runner.run(benchmark_id) == "completed"
    counts = Counter(asked())
    assert counts == {**{f"Question {n}?": 1 for n in range(10)}, "Question 6?": 2}
    benchmark = Benchmark.objects.get(pk=benchmark_id)
    assert (benchmark.status, benchmark.attempts, benchmark.done) == ("completed", 2, 10)
    assert benchmark.results[0]["accuracy"] == 1.0
    assert benchmark.items.count() == 10


@pytest.mark.needs_shared_database
@pytest.mark.django_db(transaction=True)
def test_a_run_shared_by_two_processes_asks_each_item_once(alice, llm, settings) -> None:
    from tests.conftest import client_for

    settings.BENCHMARK_PROCESSES = 2
    settings.BENCHMARK_STORE_INTERVAL = 0.05
    settings.PROVIDER_MAX_CONCURRENCY = 3
    items = [Item(f"Question {n}?", {}, f"You said: Question {n}?") for n in range(250)]
    services.dataset_create(name="questions", items=items)
    client = client_for(alice)
    benchmark_id = start(client, dataset="questions", concurrency=5).json()["benchmark_id"]
    llm.state.delay = 0.01
    assert runner.run(benchmark_id) == "completed"
    asked = Counter(r["body"]["messages"][-1]["content"] for r in llm.requests)
    assert len(asked) == 250 and set(asked.values()) == {1}
    benchmark = Benchmark.objects.get(pk=benchmark_id)
    assert (benchmark.done, benchmark.progress) == (250, 1.0)
    assert benchmark.results[0]["accuracy"] == 1.0 and benchmark.results[0]["items"] == 250
    # Shared out between the two processes: the run's 5 askers (3 + 2) and the provider's cap
    # of 3 calls (1 + 1): never more than 2 in flight.
    assert llm.state.most_in_flight == 2


# --- compare ----------------------------------------------------------------------------
def test_compare_two_runs(alice_client, sums, answers) -> None:
    first = run_to_end(alice_client)
    answers.state.answers["What is 30 plus 12?"] = "41"  # now wrong
    answers.state.answers["What is 8 plus 9?"] = "18"  # now right (as the dataset says)
    answers.state.answers["What is 12 plus 7?"] = "nineteen"  # now wrong
    second = run_to_end(alice_client)
    response = alice_client.get(
        "/v1/benchmarks/compare", {"a": first["benchmark_id"], "b": second["benchmark_id"]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    [pair] = body["targets"]
    assert pair["metrics"]["accuracy"] == {"a": 0.75, "b": 0.5, "delta": -0.25}
    assert set(pair["metrics"]) >= {"latency_p50_ms", "latency_p99_ms", "cost", "errors"}
    assert body["same_dataset"] is True and body["changed_count"] == 3
    changes = {c["item_index"]: (c["a"]["outcome"], c["b"]["outcome"])
               for c in body["changed_items"]}  # fmt: skip
    assert changes == {0: ("right", "wrong"), 2: ("wrong", "right"), 3: ("right", "wrong")}


def test_compare_needs_two_of_your_runs(alice_client, bob_client, sums, answers) -> None:
    mine = run_to_end(alice_client)["benchmark_id"]
    assert alice_client.get("/v1/benchmarks/compare", {"a": mine}).status_code == 400
    assert alice_client.get("/v1/benchmarks/compare", {"a": mine, "b": "x"}).status_code == 400
    theirs = bob_client.get("/v1/benchmarks/compare", {"a": mine, "b": mine})
    assert theirs.status_code == 404


# --- owners and pages -------------------------------------------------------------------
def test_bob_cannot_see_or_touch_alices_runs(alice_client, bob_client, sums, answers) -> None:
    mine = start(alice_client).json()["benchmark_id"]
    assert bob_client.get(f"/v1/benchmarks/{mine}").status_code == 404
    assert bob_client.get(f"/v1/benchmarks/{mine}/items").status_code == 404
    assert bob_client.post(f"/v1/benchmarks/{mine}/cancel").status_code == 404
    assert bob_client.delete(f"/v1/benchmarks/{mine}").status_code in (404, 405)
    assert bob_client.get("/v1/benchmarks").json()["total"] == 0
    assert Benchmark.objects.get(pk=mine).status == "pending"  # untouched
    assert alice_client.get("/v1/benchmarks/not-a-uuid").status_code == 404


def test_the_list_is_paginated_newest_first(alice_client, sums, llm) -> None:
    ids = [start(alice_client, name=f"run {n}").json()["benchmark_id"] for n in range(3)]
    page = alice_client.get("/v1/benchmarks", {"page_size": 2}).json()
    assert (page["total"], page["page_size"], page["total_pages"]) == (3, 2, 2)
    assert [b["benchmark_id"] for b in page["items"]] == ids[::-1][:2]
    assert alice_client.get("/v1/benchmarks", {"page": 5}).json()["items"] == []
    assert alice_client.get("/v1/benchmarks", {"page_size": 1000}).json()["page_size"] == 100
    assert alice_client.get("/v1/benchmarks", {"page": 0}).status_code == 400
