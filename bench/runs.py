"""Benchmark-run bench (issue 6).

A run of 2,000 items at concurrency 32 (in one process, then in two: BENCHMARK_PROCESSES=2)
against the local OpenAI-compatible server answering each call in 50 ms (in its own process):
items/s as a fraction of the ideal 32 / 0.05 s = 640/s (target >= 0.85) and the worker's own
CPU time per item (target <= 2 ms). Beside it, the floor: the same 2,000 calls made straight
with the `openai` SDK at the same concurrency, nothing stored or scored, in this process; and
the ceiling: the same calls from a bare aiohttp client.

And what metering adds per provider call (target <= 0.2 ms of CPU), measured alone in this
process so that the run's noise does not hide it: the budget check, the call's usage kept, and
its share of the bulk store every BENCHMARK_STORE_INTERVAL, for a payer without a budget (the
common case: no query per call) and, for comparison, with one (a reservation per call).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT, free_port, isolated_environment, save, wait_for

ITEMS = 2_000
CONCURRENCY = 32
DELAY = 0.05
IDEAL = CONCURRENCY / DELAY


def _world(base_url: str) -> tuple[Any, Any]:
    from benchmarks import services
    from benchmarks.datasets import Item
    from benchmarks.models import Provider
    from leaderboard_site.accounts.models import User

    Provider.objects.create(name="local", kind="openai", base_url=base_url, api_key="sk-bench",
                            max_concurrency=CONCURRENCY, timeout_seconds=30)  # fmt: skip
    owner = User.objects.create(username="bencher", role="user")
    # The local server echoes "You said: <prompt>": that is the right answer here.
    prompts = [f"What is {n} plus 1?" for n in range(ITEMS)]
    items = [Item(prompt, {}, f"You said: {prompt}") for prompt in prompts]
    return owner, services.dataset_create(name="plus-one", items=items)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_self_and_children() -> float:
    """CPU seconds of this process and of its children that ended (a run's forked shards)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run(owner: Any, dataset: Any, iterations: int, processes: int = 1) -> tuple[float, float, Any]:
    from django.conf import settings

    from benchmarks import runner
    from benchmarks.models import Benchmark

    settings.BENCHMARK_PROCESSES = processes

    benchmark = Benchmark.objects.create(
        owner=owner, name="bench", dataset=dataset, iterations=iterations,
        concurrency=CONCURRENCY, targets=[{"provider": "local", "model": "tiny"}],
        metrics=["accuracy", "latency", "cost"],
    )  # fmt: skip
    wall, cpu = time.perf_counter(), _cpu_self_and_children()
    status = runner.run(benchmark.pk)
    wall, cpu = time.perf_counter() - wall, _cpu_self_and_children() - cpu
    assert status == "completed", status
    benchmark.refresh_from_db()
    return wall, cpu, benchmark


def _metering_cpu_ms(owner: Any, *, budget: bool) -> float:
    """CPU ms per call of `benchmarks.spend` as a run uses it, for ITEMS calls."""
    import uuid
    from decimal import Decimal

    from asgiref.sync import async_to_sync, sync_to_async
    from django.conf import settings

    from benchmarks import spend
    from benchmarks.models import Budget, Price

    price = Price(provider="local", model="tiny", input_per_million=Decimal(1),
                  output_per_million=Decimal(2))  # fmt: skip
    Budget.objects.filter(user=owner).delete()
    if budget:
        Budget.objects.create(user=owner, daily_usd=Decimal(1000))
    payer = spend.Payer(owner.pk, None, uuid.uuid4())
    spend.forget_budgets()
    spend.budgets_of(payer)  # as a run's first call does
    per_store = max(1, int(IDEAL * settings.BENCHMARK_STORE_INTERVAL))  # at the ideal rate

    async def calls() -> None:
        meter = spend.Meter(payer, batch=[])
        with spend.metering(meter):
            for n in range(ITEMS):
                hold = await spend.acheck(payer, source="benchmark", provider="local",
                                          model="tiny", prompt=f"What is {n} plus 1?",
                                          max_tokens=256, price=price)  # fmt: skip
                hold.finish(prompt_tokens=6, completion_tokens=4)
                if (n + 1) % per_store == 0:
                    await sync_to_async(spend.close)(meter.taken())
            await sync_to_async(spend.close_run)(meter)  # as the run's end does

    cpu = time.process_time()
    async_to_sync(calls)()
    cpu = time.process_time() - cpu
    Budget.objects.filter(user=owner).delete()
    spend.forget_budgets()
    return cpu / ITEMS * 1000


async def _bare_http(base_url: str, count: int) -> None:
    """The same calls with a bare aiohttp client: what the model server and this machine allow
    a client that costs next to nothing (the ceiling under the ideal)."""
    import aiohttp

    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession() as session:

        async def one(n: int) -> None:
            body = {"model": "tiny", "max_tokens": 256, "temperature": 0.0,
                    "messages": [{"role": "user", "content": f"What is {n} plus 1?"}]}  # fmt: skip
            async with gate, session.post(f"{base_url}/chat/completions", json=body) as response:
                await response.json()

        await asyncio.gather(*(one(n) for n in range(count)))


async def _bare_sdk(base_url: str, count: int) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> None:
        async with gate:
            await client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": f"What is {n} plus 1?"}],
                max_tokens=256, temperature=0.0,
            )  # fmt: skip

    await asyncio.gather(*(one(n) for n in range(count)))
    await client.close()


def main(duration: int = 10) -> None:
    port = free_port()
    model_server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.llm_server", "--port", str(port),
         "--delay", str(DELAY)],
        cwd=PROJECT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(f"{base_url}/models")
        with isolated_environment():
            owner, dataset = _world(base_url)
            _run(owner, dataset, 200)  # warm up: imports, connections
            metering = _metering_cpu_ms(owner, budget=False)
            metering_budget = _metering_cpu_ms(owner, budget=True)
            server_cpu = _cpu_seconds(model_server.pid)
            wall, cpu, benchmark = _run(owner, dataset, ITEMS)
            server_cpu = _cpu_seconds(model_server.pid) - server_cpu
            wall2, cpu2, benchmark2 = _run(owner, dataset, ITEMS, processes=2)
            sdk_wall, sdk_cpu = time.perf_counter(), time.process_time()
            asyncio.run(_bare_sdk(base_url, ITEMS))
            sdk_wall, sdk_cpu = time.perf_counter() - sdk_wall, time.process_time() - sdk_cpu
            http_wall = time.perf_counter()
            asyncio.run(_bare_http(base_url, ITEMS))
            http_wall = time.perf_counter() - http_wall
    finally:
        model_server.terminate()
        model_server.wait()

    [result] = benchmark.results
    rate, sdk_rate = ITEMS / wall, ITEMS / sdk_wall
    figures = {
        "items": ITEMS,
        "concurrency": CONCURRENCY,
        "server_delay_ms": DELAY * 1000,
        "ideal_items_per_s": IDEAL,
        "items_per_s": round(rate, 1),
        "fraction_of_ideal": round(rate / IDEAL, 3),
        "worker_cpu_ms_per_item": round(cpu / ITEMS * 1000, 3),
        "model_server_cpu_ms_per_item": round(server_cpu / ITEMS * 1000, 3),
        "bare_sdk_items_per_s": round(sdk_rate, 1),
        "bare_sdk_cpu_ms_per_item": round(sdk_cpu / ITEMS * 1000, 3),
        "run_vs_bare_sdk": round(rate / sdk_rate, 3),
        "bare_http_items_per_s": round(ITEMS / http_wall, 1),
        "bare_http_fraction_of_ideal": round(ITEMS / http_wall / IDEAL, 3),
        "run_vs_bare_http": round(rate * http_wall / ITEMS, 3),
        "two_processes_items_per_s": round(ITEMS / wall2, 1),
        "two_processes_fraction_of_ideal": round(ITEMS / wall2 / IDEAL, 3),
        "two_processes_cpu_ms_per_item": round(cpu2 / ITEMS * 1000, 3),
        "two_processes_accuracy": benchmark2.results[0]["accuracy"],
        "metering_cpu_ms_per_call": round(metering, 4),
        "metering_with_a_budget_cpu_ms_per_call": round(metering_budget, 4),
        "accuracy": result["accuracy"],
        "errors": result["errors"],
        "latency_ms": result["latency_ms"],
    }
    print(f"run of {ITEMS} items, concurrency {CONCURRENCY}, server answering in "
          f"{DELAY * 1000:.0f} ms (ideal {IDEAL:.0f} items/s)")  # fmt: skip
    print(f"  items/s {rate:8.1f}   fraction of ideal {rate / IDEAL:.3f}   (target >= 0.85)")
    print(f"  worker CPU per item {cpu / ITEMS * 1000:.3f} ms   (target <= 2 ms); the model "
          f"server's {server_cpu / ITEMS * 1000:.3f} ms")  # fmt: skip
    print(f"  BENCHMARK_PROCESSES=2: items/s {ITEMS / wall2:8.1f}   fraction of ideal "
          f"{ITEMS / wall2 / IDEAL:.3f}   CPU per item {cpu2 / ITEMS * 1000:.3f} ms (all "
          f"processes), accuracy {benchmark2.results[0]['accuracy']}")  # fmt: skip
    print(f"  bare openai SDK: {sdk_rate:.1f} items/s, {sdk_cpu / ITEMS * 1000:.3f} ms CPU per "
          f"call; the run reaches {rate / sdk_rate:.3f} of it")  # fmt: skip
    print(f"  bare aiohttp client (the machine's ceiling): {ITEMS / http_wall:.1f} items/s = "
          f"{ITEMS / http_wall / IDEAL:.3f} of ideal; the run reaches "
          f"{rate * http_wall / ITEMS:.3f} of it")  # fmt: skip
    print(f"  metering (budget check, usage, bulk store) per call: {metering:.4f} ms CPU without "
          f"a budget (target <= 0.2 ms), {metering_budget:.4f} ms with one")  # fmt: skip
    print(f"  accuracy {result['accuracy']}, errors {result['errors']}, "
          f"latency {result['latency_ms']}")  # fmt: skip
    print(f"  saved to {save('runs', figures)}")
