"""Discovery: GET /v1/providers and /v1/providers/{name}/models; each provider's reachability
from its calls (written to the cache at most once per PROVIDER_SEEN_INTERVAL per process) and
from beat's probe of its model list."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from benchmarks import providers, runner, services, tasks
from benchmarks.datasets import Item
from benchmarks.models import Price, Provider
from benchmarks.providers import reachability
from tests.conftest import client_for, make_user
from tests.support.live import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_reachability() -> Any:
    reachability._written.clear()
    reachability._pending.clear()
    yield
    reachability._written.clear()
    reachability._pending.clear()


@pytest.fixture
def viewer_client(db: Any) -> APIClient:
    return client_for(make_user("vera", "viewer"))


def closed_port() -> int:
    return free_port()  # free, so nothing listens there


def listed(client: APIClient) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/providers")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == len(body["items"])
    return {p["name"]: p for p in body["items"]}


# --- the list -----------------------------------------------------------------------------------
def test_the_configured_providers_never_their_keys(viewer_client, llm) -> None:
    Provider.objects.create(
        name="vllm-box", kind="openai", api_key="sk-very-secret",
        base_url="https://user:hunter2@gpu.example.com:8443/v1/secret-path?token=abc",
        timeout_seconds=30, max_retries=1, max_concurrency=16,
    )  # fmt: skip
    Provider.objects.create(name="off", kind="openai", enabled=False)
    Price.objects.create(provider="openai", model="tiny", input_per_million=Decimal("0.5"),
                         output_per_million=Decimal("1.5"))  # fmt: skip
    response = viewer_client.get("/v1/providers")
    assert b"very-secret" not in response.content and b"sk-test" not in response.content
    assert b"hunter2" not in response.content and b"secret-path" not in response.content
    found = listed(viewer_client)
    assert sorted(found) == ["anthropic", "openai", "vllm-box"]  # the disabled one is not used
    box = found["vllm-box"]
    assert box == {
        "name": "vllm-box", "kind": "openai", "configured_in": "admin",
        "base_url_host": "gpu.example.com:8443", "has_api_key": True, "max_concurrency": 16,
        "timeout_seconds": 30.0, "max_retries": 1, "models": [],
        "reachability": {"status": "unknown", "at": None, "latency_ms": None, "error": "",
                         "via": None},
    }  # fmt: skip
    openai = found["openai"]
    assert (openai["configured_in"], openai["has_api_key"]) == ("environment", True)
    assert openai["base_url_host"] == "127.0.0.1:" + llm.url.rsplit(":", 1)[1]
    assert openai["models"] == [
        {"model": "tiny", "input_per_million": 0.5, "output_per_million": 1.5}
    ]
    assert (openai["timeout_seconds"], openai["max_retries"]) == (5.0, 2)  # the test settings


def test_a_row_hides_the_environments_provider_of_that_name(viewer_client, llm) -> None:
    Provider.objects.create(name="openai", kind="openai", base_url="", max_concurrency=3)
    found = listed(viewer_client)
    assert found["openai"]["configured_in"] == "admin"
    assert found["openai"]["base_url_host"] == "api.openai.com"  # the vendor's own
    assert found["openai"]["has_api_key"] is False
    assert found["openai"]["max_concurrency"] == 3


def test_anonymous_callers_get_401(anon) -> None:
    assert anon.get("/v1/providers").status_code == 401
    assert anon.get("/v1/providers/openai/models").status_code == 401


# --- reachability from calls --------------------------------------------------------------------
def test_a_call_shows_the_provider_reachable(alice_client, viewer_client, llm) -> None:
    body = {"provider": "openai", "model": "tiny", "prompt": "Hello there"}
    assert alice_client.post("/v1/completions", body, format="json").status_code == 201
    seen = listed(viewer_client)["openai"]["reachability"]
    assert (seen["status"], seen["via"], seen["error"]) == ("ok", "call", "")
    assert seen["latency_ms"] > 0 and seen["at"].endswith("Z")


def test_a_failing_provider_shows_the_error(alice_client, viewer_client, llm, settings) -> None:
    settings.ENV_PROVIDERS = {
        "openai": {"kind": "openai", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                   "api_key": None},
    }  # fmt: skip
    settings.PROVIDER_MAX_RETRIES = 0
    body = {"provider": "openai", "model": "tiny", "prompt": "Hello there"}
    assert alice_client.post("/v1/completions", body, format="json").status_code == 502
    seen = listed(viewer_client)["openai"]["reachability"]
    assert (seen["status"], seen["via"]) == ("error", "call")
    assert seen["error"].startswith("The provider openai failed")


def test_an_unknown_model_is_still_an_answer(alice_client, viewer_client, llm) -> None:
    llm.state.models = {"tiny"}
    body = {"provider": "openai", "model": "huge", "prompt": "Hello there"}
    assert alice_client.post("/v1/completions", body, format="json").status_code == 400
    assert listed(viewer_client)["openai"]["reachability"]["status"] == "ok"


def test_at_most_one_cache_write_per_interval(monkeypatch, settings) -> None:
    settings.PROVIDER_SEEN_INTERVAL = 10.0
    writes: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(reachability.cache, "set",
                        lambda key, value, **kw: writes.append((key, value)))  # fmt: skip
    for n in range(1000):
        reachability.seen("p", ok=n % 2 == 0, latency_ms=float(n))
    assert len(writes) == 1 and writes[0][1]["latency_ms"] == 0.0
    reachability.flush()  # the last outcome noted, written once the run's loop ends
    assert len(writes) == 2 and writes[1][1]["latency_ms"] == 999.0
    assert writes[1][1]["ok"] is False
    reachability.flush()
    assert len(writes) == 2  # nothing left to write


def test_noting_an_outcome_is_cheap(settings) -> None:
    settings.PROVIDER_SEEN_INTERVAL = 3600.0
    reachability.seen("p", ok=True, latency_ms=1.0)  # the one write
    calls = 100_000
    started = time.process_time()
    for _ in range(calls):
        reachability.seen("p", ok=True, latency_ms=1.0)
    per_call_us = (time.process_time() - started) / calls * 1e6
    assert per_call_us < 20  # ~1-2 µs here; a provider call costs ~1 ms of CPU


def test_a_benchmark_run_records_its_calls_once_per_interval(alice, llm, monkeypatch,
                                                              settings) -> None:  # fmt: skip
    settings.PROVIDER_SEEN_INTERVAL = 3600.0
    items = [Item(f"Question {n}", {}, "x") for n in range(20)]
    dataset = services.dataset_create(name="many", items=items)
    run = services.benchmark_create(owner=alice, name="r", dataset=dataset.name, metrics=[],
                                    providers=[{"provider": "openai", "model": "m"}])  # fmt: skip
    keys: list[str] = []
    real = reachability.cache.set

    def noted(key: str, *args: Any, **kwargs: Any) -> None:
        keys.append(key)
        real(key, *args, **kwargs)

    monkeypatch.setattr(reachability.cache, "set", noted)
    assert runner.run(run.pk) == "completed"
    assert keys == ["provider-seen:openai", "provider-seen:openai"]  # the first, then the flush
    last = reachability.last_call("openai")
    assert last is not None and last["ok"] is True


def test_streams_are_observed_too(alice_client, viewer_client, llm) -> None:
    from tests.conftest import read_body

    body = {"provider": "openai", "model": "tiny", "prompt": "Hello there", "stream": True}
    response = alice_client.post("/v1/completions", body, format="json")
    assert response.status_code == 200
    read_body(response)
    seen = listed(viewer_client)["openai"]["reachability"]
    assert (seen["status"], seen["via"]) == ("ok", "call")


# --- the probe ----------------------------------------------------------------------------------
def test_beat_probes_every_provider(viewer_client, llm, settings) -> None:
    llm.state.models = {"tiny", "small"}
    Provider.objects.create(name="gone", kind="openai", max_retries=3,
                            base_url=f"http://127.0.0.1:{closed_port()}/v1")  # fmt: skip
    summary = tasks.providers_probe()
    assert summary == "gone: error, anthropic: ok, openai: ok"  # the admin's, then the rest
    asked = [r for r in llm.requests if r["path"] == "/v1/models"]
    assert len(asked) == 2  # openai's and anthropic's; no retries for a probe
    keys = {r["headers"]["user-agent"].split("/")[0]: r["headers"]["authorization"] for r in asked}
    assert keys == {"AsyncOpenAI": "Bearer sk-test", "AsyncAnthropic": "Bearer sk-ant"}
    assert next(r for r in asked if r["query"])["query"] == {"limit": "1000"}  # Anthropic pages
    found = listed(viewer_client)
    assert found["openai"]["reachability"]["via"] == "probe"
    assert found["openai"]["reachability"]["status"] == "ok"
    assert found["gone"]["reachability"]["status"] == "error"
    assert found["gone"]["reachability"]["error"]


def test_the_latest_of_call_and_probe_wins(alice_client, viewer_client, llm, settings) -> None:
    llm.fail_next(2, status=500)  # both probes (openai's and anthropic's) fail
    tasks.providers_probe()
    assert listed(viewer_client)["openai"]["reachability"]["status"] == "error"
    time.sleep(0.01)
    body = {"provider": "openai", "model": "tiny", "prompt": "Hello there"}
    assert alice_client.post("/v1/completions", body, format="json").status_code == 201
    seen = listed(viewer_client)["openai"]["reachability"]
    assert (seen["status"], seen["via"]) == ("ok", "call")


def test_beat_schedules_the_probe(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["probe-providers"]
    assert entry["task"] == "benchmarks.tasks.providers_probe"
    assert entry["schedule"] == settings.PROVIDER_PROBE_INTERVAL == 300


# --- a provider's models ------------------------------------------------------------------------
def test_models_from_the_price_table_and_the_providers_list(viewer_client, llm) -> None:
    llm.state.models = {"tiny", "small"}
    Price.objects.create(provider="openai", model="tiny", input_per_million=Decimal("0.5"),
                         output_per_million=Decimal("1.5"))  # fmt: skip
    Price.objects.create(provider="openai", model="retired", input_per_million=Decimal("1"),
                         output_per_million=Decimal("2"))  # fmt: skip
    response = viewer_client.get("/v1/providers/openai/models")
    assert response.status_code == 200
    body = response.json()
    assert (body["provider"], body["listed"], body["reachable"]) == ("openai", True, True)
    assert body["models"] == [
        {"model": "retired", "input_per_million": 1.0, "output_per_million": 2.0,
         "priced": True, "listed": False},
        {"model": "small", "input_per_million": None, "output_per_million": None,
         "priced": False, "listed": True},
        {"model": "tiny", "input_per_million": 0.5, "output_per_million": 1.5,
         "priced": True, "listed": True},
    ]  # fmt: skip
    again = viewer_client.get("/v1/providers/openai/models").json()
    assert again == body  # from the cache: the provider was asked once
    assert len([r for r in llm.requests if r["path"] == "/v1/models"]) == 1


def test_an_unreachable_providers_models_are_its_priced_ones(viewer_client, settings) -> None:
    settings.ENV_PROVIDERS = {
        "openai": {"kind": "openai", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                   "api_key": None},
    }  # fmt: skip
    Price.objects.create(provider="openai", model="tiny", input_per_million=Decimal("0.5"),
                         output_per_million=Decimal("1.5"))  # fmt: skip
    body = viewer_client.get("/v1/providers/openai/models").json()
    assert (body["listed"], body["reachable"]) == (False, False) and body["error"]
    assert [m["model"] for m in body["models"]] == ["tiny"]


def test_unknown_provider_is_404(viewer_client, llm) -> None:
    response = viewer_client.get("/v1/providers/nowhere/models")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_local_models_have_no_list(viewer_client, settings) -> None:
    settings.ENV_PROVIDERS = {"huggingface": {"kind": "huggingface", "base_url": None,
                                              "api_key": None}}  # fmt: skip
    body = viewer_client.get("/v1/providers/huggingface/models").json()
    assert (body["listed"], body["reachable"], body["models"]) == (False, True, [])
    assert listed(viewer_client)["huggingface"]["base_url_host"] is None


def test_get_still_names_the_known_providers(llm) -> None:
    with pytest.raises(providers.UnknownProvider) as refused:
        providers.get("nowhere")
    assert refused.value.details["known"] == ["anthropic", "openai"]
    assert cache.get("provider-seen:nowhere") is None
