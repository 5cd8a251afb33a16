"""POST /v1/evaluations and /v1/plugins: discovery, execution, isolation, the LLM judge."""

from __future__ import annotations

import json

import pytest

from benchmarks.metrics import registry
from benchmarks.models import Evaluation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_registry():
    registry.plugins.cache_clear()
    yield
    registry.plugins.cache_clear()


def evaluate(client, **body):
    payload = {"provider": "openai", "model": "gpt-x", "input": "What is 2+2?",
               "output": "The answer is 4.", **body}  # fmt: skip
    return client.post("/v1/evaluations", payload, format="json")


def test_an_evaluation_scores_with_every_metric_and_averages(alice_client) -> None:
    response = evaluate(alice_client, expected="4", metrics=["contains", "exact_match", "f1"])
    assert response.status_code == 201, response.content
    body = response.json()
    # contains 1; exact_match 0; f1: output (answer is 4) vs (4): P 1/3, R 1 -> 0.5
    assert body["metrics"] == {"contains": 1.0, "exact_match": 0.0, "f1": pytest.approx(0.5)}
    assert body["score"] == pytest.approx(0.5)
    assert set(body) >= {"score", "metrics", "details", "evaluation_id", "created_at"}
    assert Evaluation.objects.get().owner.username == "alice"


def test_bad_evaluations(alice_client) -> None:
    response = evaluate(alice_client, metrics=["telepathy"])
    assert response.status_code == 400
    assert "exact_match" in response.json()["error"]["details"]["known"]
    assert evaluate(alice_client, metrics=["f1"]).status_code == 400  # needs expected
    assert evaluate(alice_client, metrics=[]).status_code == 400
    assert not Evaluation.objects.exists()


def test_evaluations_are_owned(alice_client, bob_client) -> None:
    mine = evaluate(alice_client, metrics=["json_valid"]).json()["evaluation_id"]
    assert bob_client.get(f"/v1/evaluations/{mine}").status_code == 404
    assert bob_client.get("/v1/evaluations").json()["total"] == 0
    assert alice_client.get(f"/v1/evaluations/{mine}").status_code == 200


def test_judge_metrics_need_a_configured_judge(alice_client, settings) -> None:
    settings.JUDGE_PROVIDER = settings.JUDGE_MODEL = None
    response = evaluate(alice_client, metrics=["relevance"])
    assert response.status_code == 400
    assert "JUDGE_PROVIDER" in response.json()["error"]["message"]


def test_the_judge_answers_and_is_cached(alice_client, llm, settings) -> None:
    settings.JUDGE_PROVIDER, settings.JUDGE_MODEL = "openai", "judge-1"
    llm.state.answers["Rate how relevant"] = json.dumps({"score": 0.9, "reasoning": "On topic."})
    first = evaluate(alice_client, metrics=["relevance"]).json()
    assert first["metrics"] == {"relevance": 0.9}
    assert first["details"]["relevance"]["reasoning"] == "On topic."
    prompt = llm.requests[-1]["body"]["messages"][-1]["content"]
    assert "What is 2+2?" in prompt and "The answer is 4." in prompt
    second = evaluate(alice_client, metrics=["relevance"]).json()
    assert second["metrics"] == {"relevance": 0.9}
    assert second["details"]["relevance"]["cached"] is True
    assert len(llm.requests) == 1  # the verdict was cached


def test_a_judge_that_does_not_answer_json_is_a_provider_error(alice_client, llm, settings) -> None:
    settings.JUDGE_PROVIDER, settings.JUDGE_MODEL = "openai", "judge-1"
    llm.state.answers["Rate the coherence"] = "I think it is quite good."
    response = evaluate(alice_client, metrics=["coherence"])
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "PROVIDER_ERROR"


def test_plugins_are_listed_paginated_and_executed(alice_client, anon) -> None:
    page = alice_client.get("/v1/plugins?page=1&page_size=5").json()
    assert page["total"] == 11 and page["page_size"] == 5 and page["total_pages"] == 3
    assert len(page["items"]) == 5
    names = {p["name"] for p in alice_client.get("/v1/plugins?page_size=100").json()["items"]}
    assert {"exact_match", "bleu", "faithfulness"} <= names
    plugin = next(p for p in alice_client.get("/v1/plugins?page_size=100").json()["items"]
                  if p["name"] == "contains")  # fmt: skip
    assert plugin["plugin_type"] == "evaluator" and plugin["status"] == "ready"
    assert alice_client.get(f"/v1/plugins/{plugin['id']}").json()["name"] == "contains"
    response = alice_client.post(
        f"/v1/plugins/{plugin['id']}/execute",
        {"input": {"text": "Paris is lovely", "expected": "paris"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["output"]["score"] == 1.0
    assert body["execution_time_ms"] >= 0
    assert body["request_id"] == response["X-Request-ID"]
    assert alice_client.get("/v1/plugins/not-a-uuid").status_code == 404
    assert anon.get("/v1/plugins").status_code == 401


def test_a_plugin_that_raises_or_hangs_gives_an_error_and_the_server_goes_on(
    alice_client, misbehaving_plugins
) -> None:
    plugins = registry.plugins()
    assert plugins["missing"].status == "error"
    assert plugins["exact_match"].status == "ready"  # a broken one does not take others down

    def execute(name: str):
        return alice_client.post(f"/v1/plugins/{plugins[name].id}/execute",
                                 {"input": {"output": "x"}}, format="json")  # fmt: skip

    boom = execute("boom")
    assert boom.status_code == 422
    assert boom.json()["error"]["code"] == "PLUGIN_ERROR"
    assert "the plugin broke" in boom.json()["error"]["message"]
    slow = execute("sleepy")
    assert slow.status_code == 504
    assert slow.json()["error"]["code"] == "PLUGIN_TIMEOUT"
    assert execute("missing").status_code == 422
    assert execute("json_valid").status_code == 200  # still serving
