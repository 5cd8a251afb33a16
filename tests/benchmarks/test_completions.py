"""POST /v1/completions through the real openai and anthropic SDKs, over HTTP to a local server."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal
from typing import Any

import pytest

from benchmarks import providers
from benchmarks.models import Completion, Price, Provider
from tests.conftest import client_for, make_user, read_body

pytestmark = pytest.mark.django_db
PROMPT = "What is the capital of France?"  # 6 words


def complete(client, provider: str = "openai", **extra):
    body = {"provider": provider, "model": "tiny-1", "prompt": PROMPT, **extra}
    return client.post("/v1/completions", body, format="json")


def test_a_completion_measures_usage_latency_and_stores_it(alice_client, llm) -> None:
    llm.state.answers["capital of France"] = "The capital of France is Paris."
    response = complete(alice_client, max_tokens=20, temperature=0.5)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "The capital of France is Paris."
    assert body["model"] == "tiny-1"
    assert body["usage"] == {"prompt_tokens": 6, "completion_tokens": 6, "total_tokens": 12}
    assert body["latency_ms"] > 0
    assert body["cost"] is None  # no price for this model: never a made-up number
    assert body["request_id"] == response["X-Request-ID"]
    sent = llm.requests[-1]
    assert sent["body"]["max_tokens"] == 20
    assert sent["body"]["temperature"] == 0.5
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert Completion.objects.get().owner.username == "alice"


def test_cost_comes_from_the_pricing_table(alice_client, llm) -> None:
    Price.objects.create(provider="openai", model="tiny-1", input_per_million=Decimal("2.5"),
                         output_per_million=Decimal("10"))  # fmt: skip
    llm.state.answers["France"] = "Paris."  # 1 word
    body = complete(alice_client).json()
    # 6 input tokens x 2.5 + 1 output token x 10, per million
    assert Decimal(str(body["cost"])) == Decimal("0.000025")


def test_anthropic_messages_with_a_system_prompt(alice_client, llm) -> None:
    llm.state.answers["Answer briefly"] = "Paris"
    response = complete(alice_client, provider="anthropic", system="Answer briefly.")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "Paris"
    assert body["usage"]["prompt_tokens"] == 8  # system (2 words) + prompt (6)
    sent = llm.requests[-1]
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["system"] == "Answer briefly."
    sent_key = sent["headers"].get("x-api-key") or sent["headers"].get("authorization")
    assert sent_key in ("sk-ant", "Bearer sk-ant")  # the SDK's choice of header


def test_429_is_retried_after_its_retry_after(alice_client, llm) -> None:
    llm.fail_next(count=1, status=429, retry_after=0.5)
    started = time.monotonic()
    assert complete(alice_client).status_code == 201
    assert time.monotonic() - started >= 0.5
    assert len(llm.requests) == 2


def test_5xx_is_retried_then_reported_as_provider_error(alice_client, llm) -> None:
    llm.fail_next(count=1, status=500)
    assert complete(alice_client).status_code == 201
    assert len(llm.requests) == 2
    llm.fail_next(count=10, status=503)
    response = complete(alice_client)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "PROVIDER_ERROR"
    assert error["details"]["provider"] == "openai"
    assert error["details"]["status"] == 503
    assert len(llm.requests) == 2 + 3  # the first attempt and PROVIDER_MAX_RETRIES = 2
    assert Completion.objects.count() == 1


def test_a_slow_provider_times_out(alice_client, llm, settings) -> None:
    settings.PROVIDER_TIMEOUT = 0.3
    settings.PROVIDER_MAX_RETRIES = 0
    llm.state.delay = 1.0
    response = complete(alice_client)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "PROVIDER_ERROR"


def test_an_unreachable_provider_is_502(alice_client, settings) -> None:
    settings.ENV_PROVIDERS = {"openai": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                                         "api_key": "x"}}  # fmt: skip
    settings.PROVIDER_MAX_RETRIES = 0
    assert complete(alice_client).status_code == 502


def test_unknown_provider_or_model_is_400(alice_client, llm) -> None:
    response = complete(alice_client, provider="nobody")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["known"] == ["anthropic", "openai"]
    llm.state.models = {"tiny-1"}
    response = complete(alice_client, model="huge-9")
    assert response.status_code == 400
    assert "huge-9" in response.json()["error"]["message"]
    assert not Completion.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("max_tokens", 0), ("temperature", 3), ("prompt", ""), ("provider", "")]
)
def test_bad_requests(alice_client, llm, field, value) -> None:
    response = complete(alice_client, **{field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_completions_are_visible_to_their_owner_and_admins_only(
    alice_client, bob_client, llm, anon
) -> None:
    mine = complete(alice_client).json()["id"]
    assert bob_client.get(f"/v1/completions/{mine}").status_code == 404
    assert bob_client.get("/v1/completions").json()["total"] == 0
    assert bob_client.delete(f"/v1/completions/{mine}").status_code in (404, 405)
    assert alice_client.get(f"/v1/completions/{mine}").json()["id"] == mine
    assert alice_client.get("/v1/completions").json()["total"] == 1
    admin = client_for(make_user("root", "admin"))
    assert admin.get(f"/v1/completions/{mine}").status_code == 200
    assert anon.get("/v1/completions").status_code == 401
    viewer = client_for(make_user("watcher", "viewer"))
    assert complete(viewer).status_code == 403


def test_a_provider_from_the_admin_and_its_key_stays_secret(alice_client, llm, caplog) -> None:
    Provider.objects.create(name="local", kind="openai", base_url=f"{llm.url}/v1",
                            api_key="sk-very-secret", max_retries=0)  # fmt: skip
    caplog.set_level(logging.DEBUG)
    response = complete(alice_client, provider="local")
    assert response.status_code == 201
    assert llm.requests[-1]["headers"]["authorization"] == "Bearer sk-very-secret"
    assert b"sk-very-secret" not in response.content
    assert "sk-very-secret" not in caplog.text


def test_the_concurrency_cap_holds(llm, settings) -> None:
    settings.PROVIDER_MAX_CONCURRENCY = 2
    llm.state.delay = 0.2
    provider = providers.get("openai")

    async def many() -> list[providers.Generation]:
        calls = [provider.complete(model="m", prompt=f"q{i}", max_tokens=5, temperature=0)
                 for i in range(6)]  # fmt: skip
        return await asyncio.gather(*calls)

    assert len(asyncio.run(many())) == 6
    assert llm.state.most_in_flight == 2


def test_streaming_yields_the_answer_in_pieces(llm) -> None:
    llm.state.answers["stream"] = "one two three four"
    provider = providers.get("openai")

    async def collect() -> list[Any]:
        stream = provider.stream(model="m", prompt="stream please", max_tokens=10, temperature=0)
        try:
            return [piece async for piece in stream]
        finally:
            await provider.release()

    *pieces, generation = asyncio.run(collect())
    assert pieces == ["one", " two", " three", " four"]
    assert generation.text == "one two three four"
    assert (generation.prompt_tokens, generation.completion_tokens) == (2, 4)
    assert generation.latency_ms > 0


@pytest.mark.slow
def test_a_local_transformers_model_answers(alice_client, settings) -> None:
    pytest.importorskip("transformers")
    from tests.support.evaluation import smollm2

    settings.ENV_PROVIDERS = {"huggingface": {"kind": "huggingface", "base_url": None,
                                              "api_key": None}}  # fmt: skip
    response = alice_client.post(
        "/v1/completions",
        {"provider": "huggingface", "model": str(smollm2()), "max_tokens": 12,
         "prompt": "What is the capital of France? Answer in one word."},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert "Paris" in body["text"]
    assert body["usage"]["prompt_tokens"] > 10  # the chat template around the question
    assert 0 < body["usage"]["completion_tokens"] <= 12
    missing = alice_client.post(
        "/v1/completions",
        {"provider": "huggingface", "model": "/nonexistent/model", "prompt": "hi"},
        format="json",
    )
    assert missing.status_code == 400


def _events(response) -> list[Any]:
    body = read_body(response).decode()
    chunks = [line.removeprefix("data: ") for line in body.split("\n\n") if line]
    assert chunks[-1] == "[DONE]"
    return [json.loads(chunk) for chunk in chunks[:-1]]


def test_a_streamed_completion_sends_pieces_then_the_stored_completion(alice_client, llm):
    llm.state.answers["France"] = "The capital is Paris."
    response = complete(alice_client, stream=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = _events(response)
    assert [e["text"] for e in events[:-1]] == ["The", " capital", " is", " Paris."]
    final = events[-1]
    assert final["type"] == "completion"
    assert final["text"] == "The capital is Paris."
    assert final["usage"] == {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}
    assert final["latency_ms"] > 0 and final["request_id"] == response["X-Request-ID"]
    stored = Completion.objects.get()
    assert (str(stored.id), stored.text) == (final["id"], "The capital is Paris.")
    assert llm.requests[-1]["body"]["stream"] is True


def test_a_provider_without_streaming_sends_one_piece(alice_client, llm) -> None:
    llm.state.answers["France"] = "Paris."
    events = _events(complete(alice_client, provider="anthropic", stream=True))
    assert [e["type"] for e in events] == ["delta", "completion"]
    assert events[0]["text"] == "Paris." and events[1]["usage"]["completion_tokens"] == 1


def test_a_stream_that_cannot_start_is_an_ordinary_error(alice_client, llm, settings) -> None:
    llm.state.models = {"tiny-1"}
    unknown = complete(alice_client, model="nope", stream=True)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"]["model"] == "nope"
    settings.PROVIDER_MAX_RETRIES = 0
    llm.fail_next(1, status=500)
    failing = complete(alice_client, stream=True)
    assert failing.status_code == 502
    assert failing.json()["error"]["code"] == "PROVIDER_ERROR"
    assert not Completion.objects.exists()


@pytest.mark.django_db(transaction=True)  # the ASGI handler's threads have connections of their own
def test_under_asgi_the_stream_is_an_async_iterator(alice, llm) -> None:
    """An ASGI server gets async chunks (a sync iterator would be buffered whole, and Django
    warns about it: the warning would fail this test)."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from leaderboard_site.accounts import tokens

    llm.state.answers["France"] = "The capital is Paris."
    token = tokens.issue(username="alice", role="user")[0]

    async def collect() -> list[bytes]:
        response = await AsyncClient().post(
            "/v1/completions", {"provider": "openai", "model": "tiny-1", "prompt": PROMPT,
                                "stream": True},
            content_type="application/json", headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert response.status_code == 200, response.content
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(collect)()
    assert len(chunks) == 6 and chunks[-1] == b"data: [DONE]\n\n"
    assert json.loads(chunks[4].removeprefix(b"data: "))["type"] == "completion"
    assert Completion.objects.get().text == "The capital is Paris."
