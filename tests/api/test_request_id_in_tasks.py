"""A request's id travels into the tasks it queues (their message headers), into the log lines
those tasks write and into the events they publish."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from benchmarks import services as bench_services
from benchmarks.datasets import Item
from leaderboard_site.api.context import request_id_var
from leaderboard_site.celery import app as celery_app
from leaderboard_site.logconfig import JsonFormatter
from leaderboard_site.realtime import bridge, topics
from leaderboard_site.realtime.publish import publish
from tests.conftest import client_for, make_user

logger = logging.getLogger("tests.api.request_id_task")


def _next_message(queue: str) -> Any:
    with celery_app.connection_for_read() as connection:
        return connection.SimpleQueue(queue).get(timeout=2)


@pytest.fixture(autouse=True)
def _empty_queues() -> None:
    """The in-memory broker keeps what earlier tests of this process queued."""
    with celery_app.connection_for_write() as connection:
        for queue in ("benchmarks", "evaluation"):
            connection.SimpleQueue(queue).clear()


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_carries_its_id(llm: Any) -> None:
    alice = make_user("alice", "user")
    bench_services.dataset_create(name="one", items=[Item("What is 1 + 1?", {}, "2")])
    payload = {"name": "run", "providers": [{"provider": "openai", "model": "tiny-1"}],
               "dataset": "one", "metrics": ["accuracy"]}  # fmt: skip
    response = client_for(alice).post(
        "/v1/benchmarks", payload, format="json", HTTP_X_REQUEST_ID="req-queues-a-run"
    )
    assert response.status_code == 201, response.content
    request_id_var.set(None)  # nothing of the request's left in this thread
    message = _next_message("benchmarks")
    message.ack()
    assert message.headers["task"] == "benchmarks.tasks.benchmark_run"
    assert message.headers["request_id"] == "req-queues-a-run"


def test_no_request_no_header() -> None:
    request_id_var.set(None)
    celery_app.send_task("tests.never_run", queue="evaluation")
    message = _next_message("evaluation")
    message.ack()
    assert "request_id" not in message.headers


# --- in the worker ------------------------------------------------------------------------------
seen: list[dict[str, Any]] = []


@celery_app.task(name="tests.api.request_id.announce")
def announce(number: int) -> str:
    logger.info("announcing %d", number)
    publish(topics.LEADERBOARD_UPDATED, {"number": number})
    return "announced"


@pytest.fixture
def worker(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """A real worker (a thread consuming the in-memory broker), its log lines as JSON, and the
    events it publishes kept here."""
    settings.REALTIME_RELAY = True
    seen.clear()
    monkeypatch.setattr(bridge, "store_many", lambda rows: seen.extend(m for _, m in rows))
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield lines
    logger.removeHandler(handler)


def test_the_worker_logs_and_publishes_with_the_request_id(worker: io.StringIO) -> None:
    import orjson

    request_id_var.set("req-from-a-view")
    announce.delay(1)
    request_id_var.set(None)  # a task queued outside any request
    announce.delay(2)
    deadline = time.monotonic() + 10  # (results are not kept: wait for both events)
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    lines = [orjson.loads(line) for line in worker.getvalue().splitlines()]
    by_number = {line["message"]: line for line in lines if line["message"].startswith("announ")}
    assert by_number["announcing 1"]["request_id"] == "req-from-a-view"
    assert "request_id" not in by_number["announcing 2"]  # not the previous task's
    events = {event["data"]["number"]: event for event in seen}
    assert events[1]["request_id"] == "req-from-a-view"
    assert "request_id" not in events[2]
