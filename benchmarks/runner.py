"""Running a benchmark: every target answers the run's items, `concurrency` calls at a time.

The worker claims the run (a lease it renews), skips the items already stored (a run resumes
after a crash or a retry without asking anything twice), and stores answers in small batches
as they come, each batch with its progress (`services.benchmark_record`). Cancelling the run
or losing the lease stops it within a second: the calls in flight are abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connections

from benchmarks import providers, services, spend
from benchmarks.metrics import answers, registry
from benchmarks.metrics.base import Case
from benchmarks.models import (
    Benchmark,
    BenchmarkItem,
    BenchmarkStatus,
    CallSource,
    render_prompt,
)
from benchmarks.pricing import cost_at, price_of
from benchmarks.providers import reachability
from benchmarks.providers.base import ModelProvider, ProviderError, ProviderRefused, UnknownModel
from benchmarks.selectors import RUN_METRICS
from leaderboard_site.api.errors import ApiError

logger = logging.getLogger(__name__)
MIN_SHARD = 100  # fewer items than this per process are not worth a fork


@dataclass(frozen=True)
class _Item:
    id: int
    prompt: str
    expected: str | None
    choices: list[str] | None
    references: list[str]


class Stopped(Exception):
    """The run was cancelled or another worker took it over."""


def run(benchmark_id: uuid.UUID) -> str:
    """Run (or resume) a benchmark to its end; returns its final status, or "skipped" when it
    is finished or held by another worker."""
    token = uuid.uuid4().hex
    benchmark = services.benchmark_claim(benchmark_id, token=token)
    if benchmark is None:
        return "skipped"
    try:
        Run(benchmark, token).go(processes=settings.BENCHMARK_PROCESSES)
    except Stopped:
        logger.info("benchmark %s stopped (cancelled or taken over)", benchmark_id)
        return "stopped"
    except spend.BudgetExceeded as exc:  # a spend cap reached: the run stops, with the reason
        services.benchmark_finish(benchmark, token=token, status=BenchmarkStatus.STOPPED,
                                  error=exc.message)  # fmt: skip
        return BenchmarkStatus.STOPPED
    except ApiError as exc:  # an unknown model, a missing judge...: the run cannot go on
        services.benchmark_finish(benchmark, token=token, status=BenchmarkStatus.FAILED,
                                  error=exc.message)  # fmt: skip
        return BenchmarkStatus.FAILED
    except Exception as exc:
        logger.exception("benchmark %s failed", benchmark_id)
        services.benchmark_finish(benchmark, token=token, status=BenchmarkStatus.FAILED,
                                  error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        return BenchmarkStatus.FAILED
    if services.benchmark_finish(benchmark, token=token):
        return BenchmarkStatus.COMPLETED
    return "stopped"  # cancelled (or taken over) as its last answers came in


def _askers(concurrency: int, shards: int, shard: int) -> int:
    """Shard `shard`'s part of the run's concurrency (the remainder goes to the first ones)."""
    return max(1, concurrency // shards + (shard < concurrency % shards))


def _share(provider: ModelProvider, shards: int) -> ModelProvider:
    """The provider for one of `shards` processes: its concurrency cap divided among them."""
    cap = max(1, provider.settings.max_concurrency // shards)
    return type(provider)(dataclasses.replace(provider.settings, max_concurrency=cap))


def _reap(pid: int, read_end: int) -> BaseException | None:
    """Wait for a shard's process: None when it asked its share, else what stopped it."""
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 0:
        return None
    if code == 3:
        return Stopped()
    if code == 4:
        return ApiError(message)
    if code == 6:
        return spend.BudgetExceeded(message)
    return RuntimeError(message or f"a shard's process ended with {code}")


class Run:
    def __init__(self, benchmark: Benchmark, token: str):
        self.benchmark, self.token = benchmark, token
        rows = benchmark.dataset.items.order_by("index").values_list(
            "id", "prompt", "variables", "expected", "choices", "references"
        )
        self.items = [
            _Item(id_, render_prompt(prompt, variables), expected, choices, references)
            for id_, prompt, variables, expected, choices, references in rows
        ]
        self.providers: list[ModelProvider] = []
        self.prices = []
        for target in benchmark.targets:
            self.providers.append(providers.get(target["provider"]))
            self.prices.append(price_of(target["provider"], target["model"]))
        self.plugins = [registry.by_name(m) for m in benchmark.metrics if m not in RUN_METRICS]
        answered = set(benchmark.items.values_list("target", "position"))
        self.todo = [
            (target, position)
            for position in range(benchmark.iterations)
            for target in range(len(benchmark.targets))
            if (target, position) not in answered
        ]
        self.answers: list[BenchmarkItem] = []
        self.askers = benchmark.concurrency
        self.parent: int | None = None  # the worker's pid, in a forked shard
        self.payer = spend.Payer(benchmark.owner_id, benchmark.api_key_id, benchmark.pk)
        self.meter = spend.Meter(self.payer)

    def go(self, processes: int = 1) -> None:
        """Ask everything; with `processes` > 1 (and enough items), forked processes ask their
        shares at the same time, each with its own event loop (the SDK's CPU cost per call
        makes one loop the limit), storing under the same lease."""
        caps = [p.settings.max_concurrency for p in self.providers]
        # Never more processes than calls may be in flight (each asks one at least).
        shards = max(1, min(processes, len(self.todo) // MIN_SHARD, self.benchmark.concurrency,
                            *caps))  # fmt: skip
        if shards == 1:
            async_to_sync(self._go)()
            return
        # The run's concurrency and each provider's cap are shared out among the processes.
        shared = {id(p): _share(p, shards) for p in self.providers}  # one gate per provider
        self.providers = [shared[id(p)] for p in self.providers]
        concurrency = self.benchmark.concurrency
        connections.close_all()  # a forked process must not share the parent's connection
        children = [self._fork(shard, shards) for shard in range(1, shards)]
        self.todo = self.todo[0::shards]
        self.askers = _askers(concurrency, shards, 0)
        failure: BaseException | None = None
        try:
            async_to_sync(self._go)()
        except BaseException as exc:  # the children still have to be waited for
            failure = exc
            if not isinstance(exc, Stopped):  # (a time limit, a fatal error): they stop now
                for pid, _ in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        problems = [p for p in (failure, *(_reap(*child) for child in children)) if p]
        if problems:  # the most telling first: a shard's error before the stop it caused
            raise next((p for p in problems if not isinstance(p, Stopped)), problems[0])

    def _fork(self, shard: int, shards: int) -> tuple[int, int]:
        concurrency = self.benchmark.concurrency
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid:
            os.close(write_end)
            return pid, read_end
        os.close(read_end)  # the child: its share of the items, then out without cleanup
        self.parent = parent
        code, message = 0, ""
        try:
            registry.after_fork()
            self.todo = self.todo[shard::shards]
            self.askers = _askers(concurrency, shards, shard)
            async_to_sync(self._go)()
        except Stopped:
            code = 3
        except spend.BudgetExceeded as exc:
            code, message = 6, exc.message
            services.benchmark_finish(self.benchmark, token=self.token,
                                      status=BenchmarkStatus.STOPPED, error=message)  # fmt: skip
        except BaseException as exc:
            code, message = (4, exc.message) if isinstance(exc, ApiError) else (
                5, f"{type(exc).__name__}: {exc}")  # fmt: skip
            # End the run now: the other processes stop at their next store.
            services.benchmark_finish(self.benchmark, token=self.token,
                                      status=BenchmarkStatus.FAILED, error=message)  # fmt: skip
        finally:
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(message)
            connections.close_all()
            os._exit(code)

    async def _go(self) -> None:
        self.meter = spend.Meter(self.payer, batch=[])  # the calls' holds, stored with answers
        with spend.metering(self.meter):  # in this task's context, which the askers copy
            await self._ask_all()

    async def _ask_all(self) -> None:
        """Ask with `concurrency` askers; every STORE_INTERVAL store what they answered."""
        todo = iter(self.todo)  # shared by the askers: each item is taken once
        askers = [asyncio.create_task(self._asker(todo)) for _ in range(self.askers)]
        try:
            while True:
                done, pending = await asyncio.wait(
                    askers, timeout=settings.BENCHMARK_STORE_INTERVAL,
                    return_when=asyncio.FIRST_EXCEPTION,
                )  # fmt: skip
                failed = next((task for task in done if task.exception()), None)
                if failed is not None:
                    with contextlib.suppress(Stopped):
                        await self._store()  # keep what was answered before the failure
                    raise failed.exception()  # type: ignore[misc]
                await self._store()  # raises Stopped when cancelled or taken over
                if not pending:
                    return
        finally:
            for task in askers:
                task.cancel()
            await asyncio.gather(*askers, return_exceptions=True)
            # Calls abandoned in flight release their reservations; answered ones not stored
            # yet are still counted.
            await sync_to_async(spend.close_run)(self.meter)
            for provider in {id(p): p for p in self.providers}.values():
                await provider.release()
            reachability.flush()

    async def _asker(self, todo: Iterator[tuple[int, int]]) -> None:
        for target, position in todo:
            answer = await self._ask(target, position)
            self.answers.append(answer)  # (the list in place now: _store swaps it)

    async def _store(self) -> None:
        if self.parent is not None and os.getppid() != self.parent:
            raise Stopped  # a shard whose parent (the run's worker) died
        batch, self.answers = self.answers, []
        stored = await sync_to_async(services.benchmark_record)(
            self.benchmark, batch, token=self.token, calls=self.meter.taken()
        )
        if not stored:
            raise Stopped

    async def _ask(self, target: int, position: int) -> BenchmarkItem:
        item = self.items[position % len(self.items)]
        model = self.benchmark.targets[target]["model"]
        outcome = BenchmarkItem(
            benchmark=self.benchmark, target=target, position=position, item_id=item.id
        )
        hold = await spend.acheck(self.payer, source=CallSource.BENCHMARK,
                                  provider=self.providers[target].name, model=model,
                                  prompt=self.benchmark.system + item.prompt,
                                  max_tokens=self.benchmark.max_tokens,
                                  price=self.prices[target])  # fmt: skip
        try:
            answer = await self.providers[target].complete(
                model=model, prompt=item.prompt, max_tokens=self.benchmark.max_tokens,
                temperature=self.benchmark.temperature, system=self.benchmark.system,
            )  # fmt: skip
        except (ProviderError, ProviderRefused) as exc:  # after the retries: a failed item
            hold.release()
            return self._failed(outcome, item, exc.message)
        except UnknownModel:
            raise  # every item would fail: the run fails with the reason
        except Exception as exc:  # an answer that cannot be read: this item fails, not the run
            hold.release()
            logger.warning("benchmark %s item %s: %s", self.benchmark.pk, position, exc)
            return self._failed(outcome, item, f"{type(exc).__name__}: {exc}")
        outcome.output = answer.text
        outcome.latency_ms = round(answer.latency_ms, 3)
        outcome.prompt_tokens = answer.prompt_tokens
        outcome.completion_tokens = answer.completion_tokens
        outcome.cost = cost_at(self.prices[target], prompt_tokens=answer.prompt_tokens,
                               completion_tokens=answer.completion_tokens)  # fmt: skip
        hold.finish(prompt_tokens=answer.prompt_tokens,
                    completion_tokens=answer.completion_tokens, cost=outcome.cost)  # fmt: skip
        outcome.correct = answers.is_correct(
            answer.text, expected=item.expected, choices=item.choices, references=item.references
        )
        if self.plugins:
            outcome.scores = await self._score(item, answer.text, answer.latency_ms)
        return outcome

    @staticmethod
    def _failed(outcome: BenchmarkItem, item: _Item, error: str) -> BenchmarkItem:
        outcome.error = error
        outcome.correct = False if item.expected is not None else None
        return outcome

    async def _score(self, item: _Item, output: str, latency_ms: float) -> dict[str, Any]:
        case = Case(output=output, expected=item.expected, input=item.prompt,
                    latency_ms=latency_ms)  # fmt: skip
        scores: dict[str, Any] = {}
        for plugin in self.plugins:
            try:
                result, _ = await registry.arun(plugin, case)
                scores[plugin.name] = result.score
            except ApiError as exc:  # this item cannot be scored by this metric
                scores[plugin.name] = None
                scores.setdefault("_errors", {})[plugin.name] = exc.message
        return scores
