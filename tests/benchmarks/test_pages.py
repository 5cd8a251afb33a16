"""The Test Bench's pages rendered by the server: my runs, the run form, a run's page with its
results, cancel, compare, datasets; somebody else's run is 404."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from benchmarks import runner, services
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, Dataset

pytestmark = pytest.mark.django_db
SUMS = [(12, 7, "19"), (45, 19, "64"), (8, 9, "18")]
RUN = {
    "name": "page run",
    "target-TOTAL_FORMS": "2",
    "target-INITIAL_FORMS": "0",
    "target-MIN_NUM_FORMS": "1",
    "target-MAX_NUM_FORMS": "10",
    "target-0-provider": "openai",
    "target-0-model": "tiny-1",
    "target-1-provider": "anthropic",
    "target-1-model": "",
    "dataset": "sums",
    "metrics": ["accuracy", "latency", "exact_match"],
    "concurrency": "2",
    "max_tokens": "64",
    "temperature": "0",
}


@pytest.fixture
def sums(db: Any) -> Dataset:
    items = [Item("What is {{a}} plus {{b}}?", {"a": a, "b": b}, e) for a, b, e in SUMS]
    return services.dataset_create(name="sums", items=items)


@pytest.fixture
def answers(llm: Any) -> Any:
    for a, b, _ in SUMS:
        llm.state.answers[f"What is {a} plus {b}?"] = str(a + b)
    return llm


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_pages_need_a_session(client: Client) -> None:
    for path in ("/benchmarks", "/benchmarks/datasets", "/benchmarks/compare"):
        assert client.get(path).status_code == 302, path


def test_a_run_started_from_the_form_runs_and_shows_its_results(
    alice: Any, sums: Dataset, answers: Any
) -> None:
    client = signed_in(alice)
    html = client.get("/benchmarks").content.decode()
    assert "Provider of target 1" in html and 'value="sums"' in html
    response = client.post("/benchmarks", RUN)
    run = Benchmark.objects.get()
    assert response["Location"] == f"/benchmarks/{run.pk}"
    assert run.targets == [{"provider": "openai", "model": "tiny-1"}]  # the empty row is skipped
    assert run.metrics == ["accuracy", "latency", "exact_match"] and run.concurrency == 2
    page = client.get(f"/benchmarks/{run.pk}").content.decode()
    assert 'value="0"' in page and "Cancel the run" in page and "results-table" not in page

    assert runner.run(str(run.pk)) == "completed"
    state = client.get(f"/benchmarks/{run.pk}?part=state").content.decode()
    assert "<html" not in state and 'value="100"' in state
    assert "0.667" in state  # 2 of 3 right
    assert state.count("<svg") == 4 and "Cancel the run" not in state
    assert "page run" in client.get("/benchmarks").content.decode()


def test_form_errors_are_shown_next_to_their_fields(alice: Any, sums: Dataset, llm: Any) -> None:
    bad = {**RUN, "target-0-model": "", "target-1-model": "", "concurrency": "0"}
    response = signed_in(alice).post("/benchmarks", bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "id_concurrency_error" in html
    assert not Benchmark.objects.exists()
    response = signed_in(alice).post("/benchmarks", {**RUN, "dataset_version": "7"})
    html = response.content.decode()
    assert "Unknown dataset" in html[html.index('id="id_dataset"') :]


def test_cancel_and_compare(alice: Any, sums: Dataset, answers: Any) -> None:
    client = signed_in(alice)
    client.post("/benchmarks", RUN)
    first = Benchmark.objects.get()
    runner.run(str(first.pk))
    client.post("/benchmarks", {**RUN, "name": "second"})
    second = Benchmark.objects.exclude(pk=first.pk).get()
    response = client.post(f"/benchmarks/{second.pk}/cancel", follow=True)
    assert "is cancelled" in response.content.decode()
    second.refresh_from_db()
    assert second.status == "cancelled"
    again = client.post(f"/benchmarks/{second.pk}/cancel", follow=True).content.decode()
    assert "already ended" in again

    html = client.get(f"/benchmarks/compare?a={first.pk}&b={second.pk}").content.decode()
    assert "page run (A) and second (B)" in html
    assert "latency_p95_ms" in html and "Items whose outcome changed" in html
    assert html.count("<svg") == 2  # accuracy and latency, A beside B


def test_somebody_elses_run_is_not_found(alice: Any, bob: Any, sums: Dataset, llm: Any) -> None:
    signed_in(alice).post("/benchmarks", RUN)
    run = Benchmark.objects.get()
    bob_client = signed_in(bob)
    assert bob_client.get(f"/benchmarks/{run.pk}").status_code == 404
    assert bob_client.post(f"/benchmarks/{run.pk}/cancel").status_code == 404
    assert bob_client.get(f"/benchmarks/compare?a={run.pk}&b={run.pk}").status_code == 404
    assert "page run" not in bob_client.get("/benchmarks").content.decode()


def upload(client: Client, name: str, content: bytes) -> Any:
    file = io.BytesIO(content)
    file.name = "rows.jsonl"
    return client.post("/benchmarks/datasets", {"name": name, "file": file, "schema": "items"},
                       follow=True)  # fmt: skip


def test_datasets_list_versions_and_take_an_upload(alice: Any, bob: Any, sums: Dataset) -> None:
    client = signed_in(alice)
    upload(client, "mine", b'{"prompt": "1+1?", "expected": "2"}\n')
    rows = b'{"prompt": "2+2?", "expected": "4"}\n{"prompt": "3+3?", "expected": "6"}\n'
    html = upload(client, "mine", rows).content.decode()
    assert "mine v2 is stored, 2 items." in html
    assert ">v2 <span" in html and ">v1</td>" in html and "arithmetic" in html  # shipped too

    response = upload(signed_in(bob), "bobs", b'{"prompt": "2+2?"}\n{"nope": 1}\n')
    assert response.status_code == 400
    assert "line 2" in response.content.decode()
    taken = upload(signed_in(bob), "mine", b'{"prompt": "1?", "expected": "1"}\n')
    assert "belongs to another user" in taken.content.decode()
