"""Spend caps: a call that could pass one is refused (402) before the provider is asked; runs
stop at the cap; reservations are exact under concurrency (PostgreSQL)."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.test import Client

from benchmarks import runner, services, spend
from benchmarks.datasets import Item
from benchmarks.models import Benchmark, BenchmarkItem, Budget, BudgetLedger, Price, ProviderCall
from benchmarks.signals import budget_exceeded
from leaderboard_site.accounts import services as accounts
from tests.conftest import make_user, read_body

pytestmark = pytest.mark.django_db
PROMPT = "What is the capital of France?"  # 30 characters: 8 tokens estimated, 6 counted


def complete(client: Any, **extra: Any) -> Any:
    body = {"provider": "openai", "model": "tiny-1", "prompt": PROMPT, "max_tokens": 10, **extra}
    return client.post("/v1/completions", body, format="json")


# The most such a call can cost: 8 x 2 + 10 x 10 per million.
MAXIMUM = Decimal("0.000116")


def key_client(user: Any) -> tuple[Any, Any]:
    from rest_framework.test import APIClient

    made = accounts.api_key_create(owner=user, name="ci")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=made.key)
    return client, made.api_key


def test_the_maximum_cost_estimates_the_prompt_at_four_characters_a_token(priced) -> None:
    assert spend.max_cost(priced, prompt=PROMPT, max_tokens=10) == MAXIMUM
    assert spend.max_cost(priced, prompt="abcde", max_tokens=0) == Decimal("0.000004")  # 2


def test_a_call_past_the_cap_is_402_before_the_provider_is_asked(
    alice, alice_client, llm, priced
) -> None:
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0001"))
    response = complete(alice_client)
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert error["code"] == "BUDGET_EXCEEDED"
    details = error["details"]
    assert (details["scope"], details["period"], details["cap"]) == ("user", "day", "0.0001")
    assert (details["spent"], details["needed"]) == ("0.000000", "0.000116")
    assert details["resets_at"].endswith("T00:00:00Z")
    assert not llm.requests  # the provider was never asked
    assert not ProviderCall.objects.exists()
    assert complete(alice_client, provider="anthropic").status_code == 201  # unpriced: no USD


def test_a_call_reserves_its_maximum_and_settles_to_its_cost(alice, alice_client, llm, priced):
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0002"), monthly_usd=Decimal(1))
    llm.state.answers["capital of France"] = "Paris."  # 1 token: 6 x 2 + 1 x 10 = 0.000022
    assert complete(alice_client).status_code == 201
    ledgers = {ledger.period: ledger for ledger in BudgetLedger.objects.all()}
    assert set(ledgers) == {"day", "month"}
    for ledger in ledgers.values():
        assert (ledger.spent, ledger.reserved) == (Decimal("0.000022"), 0)
    # A call starts while spent + 0.000116 (its maximum) <= 0.0002: up to 0.000084 spent.
    for _ in range(3):
        assert complete(alice_client).status_code == 201
    refused = complete(alice_client)
    assert refused.status_code == 402
    assert refused.json()["error"]["details"]["spent"] == "0.000088"
    assert BudgetLedger.objects.get(period="day").spent == Decimal("0.000088")


def test_the_monthly_cap_resets_on_the_first(alice, alice_client, llm, priced) -> None:
    Budget.objects.create(user=alice, monthly_usd=Decimal("0.0001"))
    details = complete(alice_client).json()["error"]["details"]
    assert details["period"] == "month"
    assert details["resets_at"][8:] == "01T00:00:00Z"


def test_a_keys_cap_holds_that_key_only(alice, alice_client, llm, priced) -> None:
    client, key = key_client(alice)
    Budget.objects.create(api_key=key, daily_usd=Decimal("0.0001"))
    refused = complete(client)
    assert refused.status_code == 402
    assert refused.json()["error"]["details"]["scope"] == "api_key"
    assert complete(alice_client).status_code == 201  # her session's token is not that key


def test_a_failed_call_releases_its_reservation(alice, alice_client, llm, priced) -> None:
    Budget.objects.create(user=alice, daily_usd=Decimal(1))
    llm.fail_next(count=10, status=503)
    assert complete(alice_client).status_code == 502
    assert BudgetLedger.objects.get().reserved == 0


def test_a_stream_is_refused_before_it_starts_and_settles_when_it_ends(
    alice, alice_client, llm, priced
) -> None:
    budget = Budget.objects.create(user=alice, daily_usd=Decimal("0.0001"))
    assert complete(alice_client, stream=True).status_code == 402
    assert not llm.requests
    budget.daily_usd = Decimal(1)
    budget.save()
    spend.forget_budgets()
    llm.state.answers["capital of France"] = "Paris."
    response = complete(alice_client, stream=True)
    assert b"[DONE]" in read_body(response)
    ledger = BudgetLedger.objects.get()
    assert (ledger.spent, ledger.reserved) == (Decimal("0.000022"), 0)


def test_a_judge_past_the_cap_is_402(alice, alice_client, llm, settings) -> None:
    settings.JUDGE_PROVIDER, settings.JUDGE_MODEL = "openai", "judge-1"
    Price.objects.create(provider="openai", model="judge-1", input_per_million=Decimal(1),
                         output_per_million=Decimal(1))  # fmt: skip
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0001"))  # 300 output tokens: 0.0003
    body = {"input": "What is 2+2?", "output": "4", "metrics": ["relevance"]}
    response = alice_client.post("/v1/evaluations", body, format="json")
    assert response.status_code == 402
    assert not llm.requests
    llm.state.answers["Rate how relevant"] = json.dumps({"score": 1, "reasoning": "Yes."})
    Budget.objects.filter(user=alice).update(daily_usd=Decimal(1))
    spend.forget_budgets()
    assert alice_client.post("/v1/evaluations", body, format="json").status_code == 201
    assert BudgetLedger.objects.get().spent > 0


def test_budget_exceeded_is_signalled_once_per_period_after_commit(
    alice, alice_client, llm, priced, django_capture_on_commit_callbacks: Any
) -> None:
    client, key = key_client(alice)
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0001"))
    heard: list[dict[str, Any]] = []

    def listen(sender: Any, **payload: Any) -> None:
        heard.append(payload)

    budget_exceeded.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert complete(client).status_code == 402
            assert complete(client).status_code == 402
    finally:
        budget_exceeded.disconnect(listen)
    assert len(heard) == 1
    event = heard[0]
    assert (event["user_id"], event["api_key_id"], event["scope"]) == (alice.pk, key.pk, "user")
    assert (event["period"], event["cap"], event["benchmark_id"]) == ("day", "0.0001", None)
    assert {"spent", "reserved", "needed", "resets_at", "budget"} <= set(event)


def test_known_unbudgeted_payers_cost_no_query(alice, priced, django_assert_num_queries) -> None:
    payer = spend.Payer(alice.pk)
    assert spend.budgets_of(payer) == []
    arguments = {"source": "benchmark", "provider": "openai", "model": "tiny-1",
                 "prompt": PROMPT, "max_tokens": 10, "price": priced}  # fmt: skip
    with django_assert_num_queries(0):
        hold = async_to_sync(spend.acheck)(payer, **arguments)
    assert hold.ledgers == {}


@pytest.fixture
def sums(llm: Any) -> Any:
    """Items of 17 characters (5 tokens estimated, 5 counted), answered in one token."""
    pairs = [(1, 2), (3, 4), (5, 6), (7, 8)]
    for a, b in pairs:
        llm.state.answers[f"What is {a} plus {b}?"] = str(a + b)
    items = [Item(f"What is {a} plus {b}?", {}, str(a + b)) for a, b in pairs]
    return services.dataset_create(name="sums", items=items)


def start_run(client: Any, **body: Any) -> uuid.UUID:
    payload = {"name": "capped", "providers": [{"provider": "openai", "model": "tiny-1"}],
               "dataset": "sums", "max_tokens": 10, "concurrency": 1, **body}  # fmt: skip
    response = client.post("/v1/benchmarks", payload, format="json")
    assert response.status_code == 201, response.content
    return uuid.UUID(response.json()["benchmark_id"])


def test_a_run_stops_cleanly_at_the_cap(alice, alice_client, sums, priced) -> None:
    # Each item: at most 5 x 2 + 10 x 10 = 0.00011, really 5 x 2 + 1 x 10 = 0.00002.
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0005"))
    benchmark_id = start_run(alice_client, iterations=100)
    assert runner.run(benchmark_id) == "stopped"
    body = alice_client.get(f"/v1/benchmarks/{benchmark_id}").json()
    assert body["status"] == "stopped"
    assert "spend cap" in body["error"]
    answered = BenchmarkItem.objects.filter(benchmark_id=benchmark_id).count()
    assert answered == 20  # 20 x 0.00002 spent + 0.00011 = 0.00051 would pass 0.0005
    assert body["results"][0]["items"] == answered
    ledger = BudgetLedger.objects.get()
    assert (ledger.spent, ledger.reserved) == (Decimal("0.0004"), 0)
    assert sum(c.calls for c in ProviderCall.objects.filter(benchmark_id=benchmark_id)) == 20
    assert runner.run(benchmark_id) == "skipped"  # stopped is final
    listed = alice_client.get("/v1/benchmarks").json()["items"]
    assert listed[0]["status"] == "stopped"


def test_a_run_reserves_for_many_calls_at_once_and_gives_back_what_it_did_not_use(
    alice, alice_client, sums, priced, monkeypatch
) -> None:
    """Far from its cap, a run reserves POOL_CALLS maximums at a time (one UPDATE), not one per
    call; what it did not use is given back at its end."""
    Budget.objects.create(user=alice, daily_usd=Decimal(1))
    reservations: list[Decimal] = []
    real_take = spend._take

    def counted(caps: Any, amount: Decimal) -> None:
        reservations.append(amount)
        real_take(caps, amount)

    monkeypatch.setattr(spend, "_take", counted)
    benchmark_id = start_run(alice_client, iterations=40)
    assert runner.run(benchmark_id) == "completed"
    assert reservations == [Decimal("0.00011") * spend.POOL_CALLS] * 3  # 40 calls: 16 + 16 + 8
    ledger = BudgetLedger.objects.get()
    assert (ledger.spent, ledger.reserved) == (Decimal("0.0008"), 0)  # 40 x 0.00002


def test_failed_items_give_their_reservation_back(alice, alice_client, sums, priced,
                                                  llm, settings) -> None:  # fmt: skip
    # Room for four maximums (0.00011) at once: failed items holding theirs would stop the run.
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0005"))
    settings.PROVIDER_MAX_RETRIES = 0
    llm.fail_next(6, status=500)
    benchmark_id = start_run(alice_client, iterations=12)
    assert runner.run(benchmark_id) == "completed"
    body = alice_client.get(f"/v1/benchmarks/{benchmark_id}").json()
    assert body["results"][0]["errors"] == 6
    ledger = BudgetLedger.objects.get()
    assert (ledger.spent, ledger.reserved) == (Decimal("0.00012"), 0)  # 6 answered x 0.00002


def test_a_run_of_an_unpriced_model_is_not_held_by_a_usd_cap(alice, alice_client, sums) -> None:
    Budget.objects.create(user=alice, daily_usd=Decimal(0))
    benchmark_id = start_run(alice_client, iterations=4)
    assert runner.run(benchmark_id) == "completed"
    calls = ProviderCall.objects.get()
    assert (calls.calls, calls.input_tokens, calls.cost) == (4, 20, None)


def test_the_admin_edits_budgets_and_refuses_one_of_nobody(alice) -> None:
    admin = make_user("root", "admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    browser = Client()
    browser.force_login(admin)
    empty = browser.post("/admin/benchmarks/budget/add/", {
        "daily_usd": "1", "ledgers-TOTAL_FORMS": "0", "ledgers-INITIAL_FORMS": "0",
    })  # fmt: skip
    assert empty.status_code == 200  # the form again, with the error
    assert not Budget.objects.exists()
    made = browser.post("/admin/benchmarks/budget/add/", {
        "user": alice.pk, "daily_usd": "1.5", "ledgers-TOTAL_FORMS": "0",
        "ledgers-INITIAL_FORMS": "0",
    })  # fmt: skip
    assert made.status_code == 302
    assert Budget.objects.get().daily_usd == Decimal("1.5")


# --- concurrency: real row locks -----------------------------------------------------------
@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_racing_calls_never_pass_the_cap_together(priced) -> None:
    user = make_user("racer", "user")
    Budget.objects.create(user=user, daily_usd=Decimal("0.0012"))  # 10 x 0.000116, not 11
    payer = spend.Payer(user.pk)
    gate = threading.Barrier(8)
    outcomes: list[str] = []

    def racer() -> None:
        try:
            gate.wait()
            for _ in range(4):
                try:
                    spend.check(payer, source="completion", provider="openai", model="tiny-1",
                                prompt=PROMPT, max_tokens=10)  # fmt: skip
                    outcomes.append("held")
                except spend.BudgetExceeded:
                    outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("held") == 10 and outcomes.count("refused") == 22
    assert BudgetLedger.objects.get().reserved == MAXIMUM * 10


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_for_the_last_dollar_do_not_both_pass(sums, priced, settings) -> None:
    from tests.conftest import client_for

    owner = make_user("twice", "user")
    client = client_for(owner)
    cap = Decimal("0.0001")  # one maximum (0.0001), and no more after one item (0.00002)
    Budget.objects.create(user=owner, daily_usd=cap)
    settings.BENCHMARK_STORE_INTERVAL = 0.05
    runs = [start_run(client, iterations=1, max_tokens=9) for _ in range(2)]  # 5 x 2 + 9 x 10
    gate = threading.Barrier(2)
    outcomes: dict[uuid.UUID, str] = {}

    def work(benchmark_id: uuid.UUID) -> None:
        try:
            gate.wait()
            outcomes[benchmark_id] = runner.run(benchmark_id)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(Benchmark.objects.values_list("status", flat=True))
    assert statuses == ["completed", "stopped"], outcomes
    ledger = BudgetLedger.objects.get()
    assert ledger.spent + ledger.reserved <= cap
    assert ledger.reserved == 0


def test_a_deleted_budget_no_longer_caps(alice, alice_client, llm, priced) -> None:
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0002"))
    llm.state.answers["capital of France"] = "Paris."
    assert complete(alice_client).status_code == 201  # the budget and its ledger remembered
    Budget.objects.all().delete()
    assert complete(alice_client).status_code == 201
    assert complete(alice_client, max_tokens=100).status_code == 201  # past the old cap
