"""Usage: every provider call recorded (completions, streamed or not, judges, run items), kept
when what it served is deleted, and totalled by GET /v1/usage and the admin."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from benchmarks import runner, services
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, ProviderCall
from leaderboard_site.accounts import services as accounts
from tests.conftest import client_for, make_user, read_body

pytestmark = pytest.mark.django_db
PROMPT = "What is the capital of France?"  # 6 words: the local server counts words as tokens


def complete(client: Any, **extra: Any) -> Any:
    body = {"provider": "openai", "model": "tiny-1", "prompt": PROMPT, **extra}
    return client.post("/v1/completions", body, format="json")


def key_client(user: Any, name: str = "ci") -> tuple[Any, Any]:
    from rest_framework.test import APIClient

    made = accounts.api_key_create(owner=user, name=name)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=made.key)
    return client, made.api_key


def test_a_completion_is_recorded_with_its_key_and_outlives_the_completion(
    alice, llm, priced
) -> None:
    llm.state.answers["capital of France"] = "Paris."
    client, key = key_client(alice)
    created = complete(client)
    assert created.status_code == 201, created.content
    call = ProviderCall.objects.get()
    made = (call.user, call.api_key, call.source, call.provider, call.model)
    assert made == (alice, key, "completion", "openai", "tiny-1")
    assert (call.calls, call.input_tokens, call.output_tokens) == (1, 6, 1)
    assert call.cost == Decimal("0.000022")  # 6 x 2 + 1 x 10, per million
    assert client.delete(f"/v1/completions/{created.json()['id']}").status_code == 204
    assert ProviderCall.objects.get().pk == call.pk  # the record stays


def test_a_streamed_completion_is_recorded(alice_client, alice, llm) -> None:
    llm.state.answers["capital of France"] = "The capital is Paris."
    response = complete(alice_client, stream=True)
    assert response.status_code == 200
    assert b"[DONE]" in read_body(response)
    call = ProviderCall.objects.get()
    assert (call.user, call.api_key, call.source) == (alice, None, "completion")
    assert (call.input_tokens, call.output_tokens, call.cost) == (6, 4, None)  # no price


def test_a_failed_call_is_not_recorded(alice_client, llm) -> None:
    llm.fail_next(count=10, status=503)
    assert complete(alice_client).status_code == 502
    assert not ProviderCall.objects.exists()


def test_judge_calls_are_recorded_for_who_asked_the_score(alice, llm, settings) -> None:
    settings.JUDGE_PROVIDER, settings.JUDGE_MODEL = "openai", "judge-1"
    llm.state.answers["Rate how relevant"] = json.dumps({"score": 0.9, "reasoning": "On topic."})
    client, key = key_client(alice)
    body = {"input": "What is 2+2?", "output": "4", "metrics": ["relevance"]}
    assert client.post("/v1/evaluations", body, format="json").status_code == 201
    call = ProviderCall.objects.get()
    assert (call.user, call.api_key, call.source, call.model) == (alice, key, "judge", "judge-1")
    assert call.input_tokens > 0 and call.output_tokens > 0
    plugin = next(p for p in client.get("/v1/plugins?page_size=100").json()["items"]
                  if p["name"] == "coherence")  # fmt: skip
    llm.state.answers["Rate the coherence"] = json.dumps({"score": 1, "reasoning": "Clear."})
    executed = client.post(f"/v1/plugins/{plugin['id']}/execute",
                           {"input": {"output": "Paris."}}, format="json")  # fmt: skip
    assert executed.status_code == 200, executed.content
    assert ProviderCall.objects.filter(user=alice, api_key=key, source="judge").count() == 2


@pytest.fixture
def sums(llm: Any) -> Any:
    items = [Item(f"What is {a} plus {b}?", {}, str(a + b)) for a, b in ((1, 2), (3, 4))]
    for a, b in ((1, 2), (3, 4)):
        llm.state.answers[f"What is {a} plus {b}?"] = str(a + b)
    return services.dataset_create(name="sums", items=items)


def test_run_items_are_recorded_in_bulk_with_the_run_and_its_key(alice, sums, priced) -> None:
    client, key = key_client(alice)
    body = {"name": "r", "providers": [{"provider": "openai", "model": "tiny-1"}],
            "dataset": "sums", "iterations": 6}  # fmt: skip
    created = client.post("/v1/benchmarks", body, format="json").json()
    run = Benchmark.objects.get(pk=created["benchmark_id"])
    assert (run.owner, run.api_key) == (alice, key)
    assert runner.run(run.pk) == "completed"
    rows = list(ProviderCall.objects.all())
    assert sum(r.calls for r in rows) == 6
    assert len(rows) < 6  # one row per store, not one per item
    assert {(r.user_id, r.api_key_id, r.source, r.benchmark_id) for r in rows} == {
        (alice.pk, key.pk, "benchmark", run.pk)
    }
    assert sum(r.input_tokens for r in rows) == 6 * 5 and sum(r.output_tokens for r in rows) == 6
    assert sum(r.cost for r in rows if r.cost) == Decimal("0.00012")  # 6 x (5 x 2 + 1 x 10)
    assert client.delete(f"/v1/benchmarks/{run.pk}").status_code == 204
    assert sum(r.calls for r in ProviderCall.objects.all()) == 6


def record(user: Any, *, provider: str = "openai", model: str = "tiny-1", calls: int = 1,
           cost: str | None = "0.5", key: Any = None, days_ago: int = 0) -> None:  # fmt: skip
    ProviderCall.objects.create(
        user=user, api_key=key, source="completion", provider=provider, model=model,
        calls=calls, input_tokens=10 * calls, output_tokens=2 * calls,
        cost=Decimal(cost) if cost is not None else None,
        created_at=timezone.now() - timedelta(days=days_ago),
    )  # fmt: skip


def test_usage_totals_per_group_with_unpriced_calls_flagged(alice, alice_client, bob) -> None:
    _, key = key_client(alice)
    record(alice, calls=2, cost="1.25", key=key)
    record(alice, provider="anthropic", model="big", calls=3, cost=None)
    record(alice, days_ago=40)  # before the range
    record(bob, calls=7)  # somebody else's
    since = (timezone.now() - timedelta(days=5)).date().isoformat()
    response = alice_client.get(f"/v1/usage?group_by=model&from={since}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["group_by"] == "model" and body["user"] == alice.pk
    groups = {g["group"]: g for g in body["groups"]}
    assert groups["openai/tiny-1"] == {
        "group": "openai/tiny-1", "provider": "openai", "model": "tiny-1", "calls": 2,
        "input_tokens": 20, "output_tokens": 4, "cost": 1.25, "unpriced_calls": 0,
        "cost_complete": True, "key": None,
    }  # fmt: skip
    assert groups["anthropic/big"]["unpriced_calls"] == 3
    assert groups["anthropic/big"]["cost_complete"] is False
    assert body["total"] == {"calls": 5, "input_tokens": 50, "output_tokens": 10, "cost": 1.25,
                             "unpriced_calls": 3, "cost_complete": False}  # fmt: skip
    by_key = alice_client.get("/v1/usage?group_by=key").json()["groups"]
    assert {g["group"]: g["calls"] for g in by_key} == {str(key.pk): 2, None: 3}
    assert next(g for g in by_key if g["group"])["key"]["name"] == "ci"
    by_day = alice_client.get("/v1/usage?from=2000-01-01").json()["groups"]
    assert [g["calls"] for g in by_day] == [1, 5]
    by_provider = alice_client.get("/v1/usage?group_by=provider").json()["groups"]
    assert {g["group"] for g in by_provider} == {"openai", "anthropic"}


def test_usage_is_the_callers_and_admins_see_anyones(alice, alice_client, bob) -> None:
    record(alice, calls=2)
    record(bob, calls=7)
    assert alice_client.get(f"/v1/usage?user={bob.pk}").status_code == 403
    assert alice_client.get("/v1/usage?user=all").status_code == 403
    assert alice_client.get("/v1/usage?user=alice").json()["total"]["calls"] == 2
    admin = client_for(make_user("root", "admin"))
    assert admin.get("/v1/usage?user=bob").json()["total"]["calls"] == 7
    assert admin.get(f"/v1/usage?user={alice.pk}").json()["total"]["calls"] == 2
    everyone = admin.get("/v1/usage?user=all").json()
    assert (everyone["user"], everyone["total"]["calls"]) == (None, 9)
    assert admin.get("/v1/usage").json()["total"]["calls"] == 0  # the admin's own
    assert admin.get("/v1/usage?user=nobody").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["group_by=week", "from=yesterday", "to=2026-13-01", "from=2026-02-01&to=2026-01-01",
     "from=2026-01-01T25:00:00", "to=9999-12-31", "from=0000-01-01"],
)  # fmt: skip
def test_bad_usage_queries_are_400(alice_client, query: str) -> None:
    response = alice_client.get(f"/v1/usage?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "BAD_REQUEST"


def test_a_date_to_includes_its_whole_day(alice, alice_client) -> None:
    record(alice, calls=4)
    today = timezone.now().date().isoformat()
    assert alice_client.get(f"/v1/usage?from={today}&to={today}").json()["total"]["calls"] == 4


def test_the_admin_lists_calls_with_their_totals(alice, bob) -> None:
    record(alice, calls=2, cost="1.5")
    record(bob, calls=3, cost=None)
    admin = make_user("root", "admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    browser = Client()
    browser.force_login(admin)
    page = browser.get("/admin/benchmarks/providercall/")
    assert page.status_code == 200
    totals = page.content.decode().split('id="usage-totals"', 1)[1]
    assert "<td>5</td>" in totals and "1.50000000" in totals and "<td>3 (tokens only" in totals
    filtered = browser.get("/admin/benchmarks/providercall/?q=alice")
    assert "<td>2</td>" in filtered.content.decode().split('id="usage-totals"', 1)[1]
    assert browser.get("/admin/benchmarks/budget/add/").status_code == 200


def test_graphql_calls_are_recorded_with_their_key(alice, llm) -> None:
    llm.state.answers["capital of France"] = "Paris."
    client, key = key_client(alice)
    mutation = "mutation($input: CompletionInput!) { createCompletion(input: $input) { id } }"
    variables = {"input": {"provider": "openai", "model": "tiny-1", "prompt": PROMPT}}
    response = client.post("/graphql", {"query": mutation, "variables": variables}, format="json")
    assert response.json()["data"]["createCompletion"]["id"]
    call = ProviderCall.objects.get()
    assert (call.user, call.api_key, call.source) == (alice, key, "completion")
