"""GET /metrics: Prometheus' text format, every process's samples added up, the numbers read at
scrape time, and METRICS_TOKEN."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from leaderboard import snapshot
from leaderboard_site.celery import app as celery_app
from leaderboard_site.hub import client, mirror
from leaderboard_site.hub.models import MirrorChange
from leaderboard_site.hub.tasks import mirror_push
from leaderboard_site.metrics import definitions, exposition, state
from tests.conftest import PROJECT
from tests.submissions.test_status import make_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    state.forget()
    yield
    state.forget()


@pytest.fixture
def no_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    """No worker answers here: skip the inspect broadcast's wait."""
    monkeypatch.setattr(state.workers_alive, "read", lambda: {q: [] for q in state.queues()})


def scrape(client: Any, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics parsed: (sample name, sorted labels) -> value."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_pattern_and_status(anon: Any, no_inspect: None) -> None:
    route = "/api/models/<str:org>/<str:name>/status"
    before = scrape(anon)
    first = anon.get("/api/models/acme/one/status")
    anon.get("/api/models/other/two/status")
    after = scrape(anon)
    count = "http_request_duration_seconds_count"
    labels = {"route": route, "method": "GET", "status": str(first.status_code)}
    assert value(after, count, **labels) - value(before, count, **labels) == 2
    bucket = {**labels, "le": "+Inf"}
    assert value(after, "http_request_duration_seconds_bucket", **bucket) >= 2
    body = anon.get("/metrics").content.decode()
    assert "acme/one" not in body and "other/two" not in body  # paths never become labels


def test_errors_are_counted_by_their_code(anon: Any, no_inspect: None) -> None:
    before = scrape(anon)
    assert anon.get("/no/such/page").status_code == 404
    assert anon.post("/v1/auth/login", {}, format="json").status_code == 400
    after = scrape(anon)
    errors = "http_errors_total"
    assert (
        value(after, errors, code="NOT_FOUND", status="404")
        - value(before, errors, code="NOT_FOUND", status="404")
        == 1
    )
    assert (
        value(after, errors, code="BAD_REQUEST", status="400")
        - value(before, errors, code="BAD_REQUEST", status="400")
        == 1
    )
    unmatched = {"route": "(unmatched)", "method": "GET", "status": "404"}
    assert value(after, "http_request_duration_seconds_count", **unmatched) >= 1


def test_rate_limit_refusals_are_counted(anon: Any, settings: Any, no_inspect: None) -> None:
    refused = {"route": "/api/models/<str:org>/<str:name>/status", "method": "GET",
               "status": "429"}  # fmt: skip
    counted = [("http_rate_limited_total", {"scope": "requests"}),
               ("http_errors_total", {"code": "RATE_LIMIT_EXCEEDED", "status": "429"}),
               ("http_request_duration_seconds_count", refused)]  # fmt: skip
    settings.RATE_LIMIT_ENABLED = False  # the scrapes themselves are not limited
    before = scrape(anon)  # the process's counters hold the earlier tests' refusals (quotas too)
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_RPS, settings.RATE_LIMIT_BURST = 0.01, 2
    statuses = [anon.get("/api/models/acme/one/status").status_code for _ in range(4)]
    assert statuses.count(429) == 2
    settings.RATE_LIMIT_ENABLED = False
    after = scrape(anon)
    for name, labels in counted:
        assert value(after, name, **labels) - value(before, name, **labels) == 2, name


def test_metrics_token_when_set(anon: Any, settings: Any, no_inspect: None) -> None:
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Basic x"}):
        refused = anon.get("/metrics", **headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"
        assert refused["WWW-Authenticate"].startswith("Bearer")
    assert scrape(anon, HTTP_AUTHORIZATION="Bearer s3cret-scraper-token")
    settings.METRICS_TOKEN = None
    assert scrape(anon)  # unset: open


def test_queue_depth_is_read_from_the_broker(anon: Any, no_inspect: None) -> None:
    before = scrape(anon)  # (the in-memory broker keeps what earlier tests queued)
    for _ in range(3):
        celery_app.send_task("tests.never_run", queue="evaluation")
    state.forget()  # as CACHE_SECONDS later
    after = scrape(anon)
    depth = "celery_queue_depth"
    assert value(after, depth, queue="evaluation") - value(before, depth, queue="evaluation") == 3
    assert value(after, depth, queue="benchmarks") == value(before, depth, queue="benchmarks")
    assert (depth, (("queue", "default"),)) in after


def test_a_broker_away_is_nan_not_an_error(
    anon: Any, monkeypatch: pytest.MonkeyPatch, no_inspect: None
) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(celery_app, "connection_for_read", refused)
    samples = scrape(anon)
    assert math.isnan(samples[("celery_queue_depth", (("queue", "default"),))])


def test_workers_alive_per_queue(anon: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Inspect:
        def active_queues(self) -> dict[str, list[dict[str, str]]]:
            return {"default@a": [{"name": "default"}], "benchmarks@a": [{"name": "benchmarks"}],
                    "benchmarks@b": [{"name": "benchmarks"}]}  # fmt: skip

    monkeypatch.setattr(celery_app.control, "inspect", lambda timeout: Inspect())
    samples = scrape(anon)
    assert value(samples, "celery_workers_alive", queue="benchmarks") == 2
    assert value(samples, "celery_workers_alive", queue="default") == 1
    assert ("celery_workers_alive", (("queue", "evaluation"),)) in samples


@celery_app.task(name="tests.api.metrics.succeeds")
def succeeds() -> str:
    return "done"


@celery_app.task(name="tests.api.metrics.fails")
def fails() -> str:
    raise RuntimeError("boom")


def test_task_durations_and_outcomes(anon: Any, no_inspect: None) -> None:
    before = scrape(anon)
    succeeds.apply()
    succeeds.apply()
    fails.apply()
    after = scrape(anon)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("celery_tasks_total", task=succeeds.name, outcome="success") == 2
    assert delta("celery_tasks_total", task=fails.name, outcome="failure") == 1
    count = "celery_task_duration_seconds_count"
    assert delta(count, task=succeeds.name, outcome="success") == 2


def test_jobs_by_status(anon: Any, no_inspect: None) -> None:
    make_request("acme/one")
    make_request("acme/two")
    samples = scrape(anon)
    assert value(samples, "jobs", kind="evaluation", status="PENDING") == 2
    assert ("jobs", (("kind", "evaluation"), ("status", "FAILED"))) in samples
    assert ("jobs", (("kind", "benchmark"), ("status", "running"))) in samples


def test_job_counts_are_cached_a_few_seconds(anon: Any, no_inspect: None) -> None:
    scrape(anon)
    make_request("acme/later")
    assert value(scrape(anon), "jobs", kind="evaluation", status="PENDING") == 0
    state.jobs.forget()  # as CACHE_SECONDS later
    assert value(scrape(anon), "jobs", kind="evaluation", status="PENDING") == 1


def _pending_change(dataset: str, age: timedelta) -> None:
    MirrorChange.objects.create(dataset=dataset, path="a.json", operation="put", content=b"{}")
    MirrorChange.objects.filter(dataset=dataset).update(created_at=timezone.now() - age)


def test_mirror_lag_and_last_push(
    anon: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, no_inspect: None
) -> None:
    settings.MIRROR_TARGET = "leaderboard_site.hub.mirror.FolderTarget"
    _pending_change("votes", timedelta(minutes=10))
    samples = scrape(anon)
    assert 600 <= value(samples, "hub_mirror_lag_seconds", dataset="votes") < 660
    assert value(samples, "hub_mirror_lag_seconds", dataset="requests") == 0
    assert ("hub_mirror_last_push_ok", (("dataset", "votes"),)) not in samples

    def unavailable(dataset: str, **kwargs: Any) -> Any:
        raise client.HubUnavailable("the Hub answered 503")

    monkeypatch.setattr(mirror, "push", unavailable)
    with pytest.raises(client.HubUnavailable):
        mirror_push.run("votes")
    state.mirror.forget()
    samples = scrape(anon)
    assert value(samples, "hub_mirror_last_push_ok", dataset="votes") == 0
    assert value(samples, "hub_mirror_pushes_total", dataset="votes", outcome="unavailable") == 1

    monkeypatch.undo()
    settings.MIRROR_TARGET = "leaderboard_site.hub.mirror.FolderTarget"
    assert mirror_push.run("votes") == "votes: 1 changes in 1 files"
    state.mirror.forget()
    samples = scrape(anon)
    assert value(samples, "hub_mirror_lag_seconds", dataset="votes") == 0
    assert value(samples, "hub_mirror_last_push_ok", dataset="votes") == 1
    assert value(samples, "hub_mirror_last_push_timestamp_seconds", dataset="votes") > 1e9


def test_snapshot_rebuild_time_and_version_age(
    anon: Any, no_inspect: None, django_capture_on_commit_callbacks: Any
) -> None:
    before = scrape(anon)
    assert ("leaderboard_snapshot_age_seconds", ()) not in before  # nothing published yet
    with django_capture_on_commit_callbacks(execute=True):
        snapshot.snapshot_rebuild()
    state.forget()  # as CACHE_SECONDS later
    after = scrape(anon)
    count = "leaderboard_snapshot_rebuild_seconds_count"
    assert value(after, count) - value(before, count) == 1
    assert 0 <= after[("leaderboard_snapshot_age_seconds", ())] < 60


SUBPROCESS = """
import os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "leaderboard_site.settings.base"
import django
django.setup()
from leaderboard_site.metrics import definitions
definitions.TASKS.labels("tests.elsewhere", "success").inc(5)
definitions.WS_CONNECTIONS.inc(3)
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


def _another_process(hold: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(definitions.MULTIPROC_DIR),
           "VAR_DIR": str(django_settings.VAR_DIR)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SUBPROCESS), str(hold)],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_samples_of_every_process_are_added_up(anon: Any, no_inspect: None) -> None:
    """What another process (a web worker, a Celery worker) counted is in this one's scrape;
    the sockets a killed process held are not counted any more."""
    before = scrape(anon)
    other = _another_process(hold=60)
    try:
        during = scrape(anon)
        tasks = ("celery_tasks_total", {"task": "tests.elsewhere", "outcome": "success"})
        assert value(during, tasks[0], **tasks[1]) - value(before, tasks[0], **tasks[1]) == 5
        sockets = during[("websocket_connections", ())] - before[("websocket_connections", ())]
        assert sockets == 3
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
        other.stdout.close()  # type: ignore[union-attr]
    after = scrape(anon)
    assert after[("websocket_connections", ())] == before[("websocket_connections", ())]
    assert value(after, tasks[0], **tasks[1]) - value(before, tasks[0], **tasks[1]) == 5


def test_a_new_server_starts_from_an_empty_folder(tmp_path: Any) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    exposition.reset_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_the_summary_for_system_metrics(anon: Any, no_inspect: None) -> None:
    summary = exposition.Summary()
    first = summary.read()
    assert first["requests_per_second"] is None  # no interval yet
    for _ in range(20):
        anon.get("/health/live")
    second = summary.read()
    assert second["requests_total"] - first["requests_total"] == 20
    assert second["requests_per_second"] > 0
    assert 0 < second["p95_latency_ms"] < 10_000
    assert set(second["queue_depth"]) == set(second["workers_alive"]) == set(state.queues())


def test_quantiles_from_bucket_readings() -> None:
    bounds = (0.1, 0.2, math.inf)
    before = dict.fromkeys(bounds, 0.0)
    after = {0.1: 50.0, 0.2: 100.0, math.inf: 100.0}  # half under 0.1 s, the rest under 0.2 s
    assert exposition._quantile(0.5, before, after) == pytest.approx(0.1)
    assert exposition._quantile(0.95, before, after) == pytest.approx(0.19)
    assert exposition._quantile(0.95, after, after) is None  # no request in between
