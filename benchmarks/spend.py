"""Metering provider calls and holding them to their payers' budgets.

Every call to a provider is made for a payer (a user, and the API key they used, if any): before
it starts it takes a `Hold` (`check`), which reserves the call's maximum cost on each of the
payer's budget ledgers (the user's and the key's, for the day and the month) or raises
`BudgetExceeded` (402) without calling the provider; once it is answered the hold learns the
tokens (`Hold.finish`) and `close` stores the usage (`ProviderCall` rows) and settles each
ledger to the real cost. A call's maximum cost is its prompt's estimated tokens (characters / 4,
rounded up, system prompt included) at the input price plus `max_tokens` at the output price.
Models without a price are metered in tokens only and never touch a USD budget.

A benchmark run meters its calls into a batch (`Meter.batch`) that it stores with its answers,
every store interval: no query per item. Payers without a budget are remembered as such for
BUDGET_CACHE_SECONDS per process, so that checking them costs no query either.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import DecimalField, F, Value
from django.utils import timezone

from benchmarks.models import Budget, BudgetLedger, BudgetPeriod, Price, ProviderCall
from benchmarks.pricing import MILLION, cost_at, price_of
from benchmarks.signals import budget_exceeded
from leaderboard_site.api.errors import ApiError

CHARS_PER_TOKEN = 4  # the estimate of a prompt's tokens before the provider counts them


class BudgetExceeded(ApiError):
    """The call would pass a spend cap: refused before the provider is asked (402)."""

    status, code = 402, "BUDGET_EXCEEDED"


@dataclass(frozen=True)
class Payer:
    user_id: int | None
    api_key_id: uuid.UUID | None = None
    benchmark_id: uuid.UUID | None = None

    @classmethod
    def of(cls, principal: Any) -> Payer | None:
        """The payer of a request's principal (None without one)."""
        if principal is None:
            return None
        key = principal.api_key
        return cls(principal.user.pk, key.pk if key is not None else None)


AT_PRICE: Any = Decimal("-1")  # `Hold.finish`'s default: the cost at the hold's price


@dataclass(eq=False)  # holds are told apart by identity
class Hold:
    """One call's reservation, then its usage."""

    payer: Payer | None
    source: str
    provider: str
    model: str
    price: Price | None
    ledgers: dict[int, Decimal] = field(default_factory=dict)  # ledger id: amount reserved
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal | None = None
    answered: bool = False
    done: bool = False  # answered, or failed (released: nothing counted)
    settled: bool = False  # its ledgers: given back what it reserved, charged what it cost
    closed: bool = False  # its usage stored too

    def finish(self, *, prompt_tokens: int, completion_tokens: int,
               cost: Decimal | None = AT_PRICE) -> None:  # fmt: skip
        """The call was answered with these tokens; its cost is at the hold's price unless
        given (None: no price)."""
        self.input_tokens, self.output_tokens = prompt_tokens, completion_tokens
        if cost is AT_PRICE:
            cost = cost_at(self.price, prompt_tokens=prompt_tokens,
                           completion_tokens=completion_tokens)  # fmt: skip
        self.cost = cost
        self.answered = self.done = True

    def release(self) -> None:
        """The call failed: its reservation is given back, nothing is counted."""
        self.done = True


@dataclass
class Meter:
    """Who the calls made in this context are for; a run's holds go to `batch`, and a run
    reserves for POOL_CALLS calls at a time into `pool` (ledger id: reserved, not yet taken by a
    call), on the ledgers `pooled` names (ledger id, period, its start)."""

    payer: Payer | None
    batch: list[Hold] | None = None
    pool: dict[int, Decimal] = field(default_factory=dict)
    pooled: list[tuple[int, str, date]] = field(default_factory=list)

    def taken(self, *, everything: bool = False) -> list[Hold]:
        """The batch's finished holds (or all of them), removed from it."""
        if not self.batch:
            return []
        if everything:
            holds, self.batch[:] = list(self.batch), []
            return holds
        holds = [hold for hold in self.batch if hold.done]
        self.batch[:] = [hold for hold in self.batch if not hold.done]
        return holds


_meter: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("meter", default=None)


def current() -> Meter | None:
    return _meter.get()


@contextlib.contextmanager
def metering(meter: Meter) -> Iterator[Meter]:
    """Calls made within (the judge's, in this thread, its event loops and tasks) are `meter`'s."""
    reset = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(reset)


# --- budgets ---------------------------------------------------------------------------------
_budgets: dict[tuple[int | None, uuid.UUID | None], tuple[float, list[Budget]]] = {}


def budgets_of(payer: Payer) -> list[Budget]:
    """The user's and the key's budgets, remembered for BUDGET_CACHE_SECONDS."""
    cache_key = (payer.user_id, payer.api_key_id)
    found = _budgets.get(cache_key)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    budgets = list(Budget.objects.filter(user_id=payer.user_id)) if payer.user_id else []
    if payer.api_key_id:
        budgets += list(Budget.objects.filter(api_key_id=payer.api_key_id))
    _budgets[cache_key] = (time.monotonic() + settings.BUDGET_CACHE_SECONDS, budgets)
    return budgets


def _known_unbudgeted(payer: Payer | None) -> bool:
    """True when the payer is known (from the cache) to have no budget: no query needed."""
    if payer is None:
        return True
    found = _budgets.get((payer.user_id, payer.api_key_id))
    return found is not None and found[0] > time.monotonic() and not found[1]


def forget_budgets() -> None:
    """Drop the remembered budgets (after an admin's change, in this process)."""
    _budgets.clear()
    _ledgers.clear()


def period_start(period: str, now: datetime) -> date:
    day = now.astimezone(UTC).date()
    return day if period == BudgetPeriod.DAY else day.replace(day=1)


def resets_at(period: str, starts: date) -> datetime:
    if period == BudgetPeriod.DAY:
        ends = starts + timedelta(days=1)
    else:
        ends = (starts.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(ends.year, ends.month, ends.day, tzinfo=UTC)


def max_cost(price: Price, *, prompt: str, max_tokens: int) -> Decimal:
    """The most a call can cost: its prompt's estimated tokens and `max_tokens` at `price`."""
    estimated = math.ceil(len(prompt) / CHARS_PER_TOKEN)
    return (price.input_per_million * estimated + price.output_per_million * max_tokens) / MILLION


def check(payer: Payer | None, *, source: str, provider: str, model: str, prompt: str,
          max_tokens: int, price: Price | bool | None = True) -> Hold:  # fmt: skip
    """A hold for one call: its maximum cost reserved on every budget ledger of the payer, all
    or none; BudgetExceeded when one would pass its cap. `price`: True to look it up."""
    if price is True:
        price = price_of(provider, model)
    hold = Hold(payer, source, provider, model, price or None)
    if payer is None or hold.price is None:  # unpriced: tokens only, no USD budget
        return hold
    budgets = budgets_of(payer)
    if budgets:
        _reserve(hold, budgets, max_cost(hold.price, prompt=prompt, max_tokens=max_tokens))
    return hold


async def acheck(payer: Payer | None, **arguments: Any) -> Hold:
    """`check` for an event loop: without a query when the payer is known to have no budget
    (and `price` is given). In a run, the hold joins the run's batch (released with it)."""
    price = arguments.get("price", True)
    if price is not True and (price is None or _known_unbudgeted(payer)):
        hold = Hold(payer, arguments["source"], arguments["provider"], arguments["model"], price)
    else:
        hold = await _checked(payer, arguments)
    meter = current()
    if meter is not None and meter.batch is not None:
        meter.batch.append(hold)
    return hold


async def _checked(payer: Payer | None, arguments: dict[str, Any]) -> Hold:
    """`check`; in a run, from the run's pool without a query while it has room, else after
    settling the calls answered since (their usage is still stored with the batch) by
    reserving for the next POOL_CALLS calls at once, or for this one alone near the cap."""
    meter = current()
    if meter is None or meter.batch is None:
        return await sync_to_async(check)(payer, **arguments)
    hold = _from_pool(meter, payer, arguments)
    if hold is not None:
        return hold
    answered = [hold for hold in meter.batch if hold.done and hold.ledgers and not hold.settled]

    def settle_and_refill() -> Hold:
        settle(answered)
        return _pooled_check(meter, payer, arguments)

    return await sync_to_async(settle_and_refill)()


POOL_CALLS = 16  # a run reserves for this many calls' maximum at a time


def _from_pool(meter: Meter, payer: Payer | None, arguments: dict[str, Any]) -> Hold | None:
    """A hold taken from the run's pool (no query), or None when the pool cannot cover it."""
    price = arguments.get("price", True)
    if not meter.pooled or payer != meter.payer or not isinstance(price, Price):
        return None
    amount = max_cost(price, prompt=arguments["prompt"], max_tokens=arguments["max_tokens"])
    now = timezone.now()
    if any(
        meter.pool.get(ledger, Decimal(0)) < amount or starts != period_start(period, now)
        for ledger, period, starts in meter.pooled
    ):
        return None
    hold = Hold(payer, arguments["source"], arguments["provider"], arguments["model"], price)
    for ledger, _, _ in meter.pooled:
        meter.pool[ledger] -= amount
        hold.ledgers[ledger] = amount
    return hold


def _pooled_check(meter: Meter, payer: Payer | None, arguments: dict[str, Any]) -> Hold:
    """`check` that first tries to reserve POOL_CALLS calls' maximum into the run's pool."""
    price = arguments.get("price", True)
    if price is True:
        price = price_of(arguments["provider"], arguments["model"])
    hold = Hold(payer, arguments["source"], arguments["provider"], arguments["model"],
                price or None)  # fmt: skip
    budgets = budgets_of(payer) if payer is not None and hold.price is not None else []
    if not budgets:
        return hold
    amount = max_cost(hold.price, prompt=arguments["prompt"], max_tokens=arguments["max_tokens"])  # type: ignore[arg-type]
    caps = _caps_now(budgets)
    try:
        _take(caps, amount * POOL_CALLS)
    except _Refused:
        _reserve(hold, budgets, amount)  # near the cap: this call alone, or BudgetExceeded
        return hold
    now = timezone.now()
    meter.pooled = [(ledger, period, period_start(period, now)) for _, ledger, _, period in caps]
    for _, ledger, _, _ in caps:
        meter.pool[ledger] = meter.pool.get(ledger, Decimal(0)) + amount * (POOL_CALLS - 1)
        hold.ledgers[ledger] = amount
    return hold


def close_run(meter: Meter) -> None:
    """A run's end: its holds closed (answered ones counted, the others released) and what its
    pool still reserves given back."""
    close(meter.taken(everything=True))
    release_pool(meter)


def release_pool(meter: Meter) -> None:
    """Give back what the run reserved and no call took."""
    for ledger, left in meter.pool.items():
        if left:
            BudgetLedger.objects.filter(pk=ledger).update(reserved=F("reserved") - left)
    meter.pool.clear()
    meter.pooled.clear()


class _Refused(Exception):
    def __init__(self, budget: Budget, ledger: int, cap: Decimal):
        self.budget, self.ledger, self.cap = budget, ledger, cap


Cap = tuple[Budget, int, Decimal, str]  # a budget, its ledger now, the cap, the period


def _caps_now(budgets: list[Budget]) -> list[Cap]:
    now = timezone.now()
    return [
        (budget, _ledger(budget, period, period_start(period, now)), cap, period)
        for budget in budgets
        for period, cap in _caps(budget)
        if cap is not None
    ]


def _take(caps: list[Cap], amount: Decimal) -> None:
    """Reserve `amount` on every ledger, all or none; _Refused naming the one that is full."""
    with transaction.atomic() if len(caps) > 1 else contextlib.nullcontext():
        for budget, ledger, cap, _ in caps:
            # spent + reserved + amount <= cap, written so that SQLite compares numbers
            room = Value(cap - amount, output_field=DecimalField()) - F("reserved")
            within = BudgetLedger.objects.filter(pk=ledger, spent__lte=room)
            if not within.update(reserved=F("reserved") + amount):
                raise _Refused(budget, ledger, cap)


def _reserve(hold: Hold, budgets: list[Budget], amount: Decimal) -> None:
    caps = _caps_now(budgets)
    try:
        _take(caps, amount)
    except _Refused as refused:
        _refuse(hold, refused.budget, refused.ledger, refused.cap, amount=amount)
        return  # (_refuse raises, unless the budget is gone: then nothing caps the call)
    hold.ledgers.update({ledger: amount for _, ledger, _, _ in caps})


def _caps(budget: Budget) -> list[tuple[str, Decimal | None]]:
    return [(BudgetPeriod.DAY, budget.daily_usd), (BudgetPeriod.MONTH, budget.monthly_usd)]


_ledgers: dict[tuple[int, str, date], int] = {}  # ledger ids, by budget, period and start


def _ledger(budget: Budget, period: str, starts: date) -> int:
    """The id of the budget's ledger of a period (made by its first call; a concurrent one is
    found), remembered by the process."""
    key = (budget.pk, period, starts)
    if key not in _ledgers:
        ledger, _ = BudgetLedger.objects.get_or_create(budget=budget, period=period, starts=starts)
        _ledgers[key] = ledger.pk
    return _ledgers[key]


def _refuse(hold: Hold, budget: Budget, ledger_id: int, cap: Decimal, *,
            amount: Decimal) -> None:  # fmt: skip
    ledger = BudgetLedger.objects.filter(pk=ledger_id).first()
    if ledger is None:  # the budget was deleted since this process remembered it: no cap
        forget_budgets()
        return
    scope = "api_key" if budget.api_key_id else "user"
    details = {
        "scope": scope,
        "period": ledger.period,
        "cap": str(cap),
        "spent": str(ledger.spent.quantize(Decimal("0.000001"))),
        "reserved": str(ledger.reserved.quantize(Decimal("0.000001"))),
        "needed": str(amount.quantize(Decimal("0.000001"))),
        "resets_at": resets_at(ledger.period, ledger.starts).isoformat().replace("+00:00", "Z"),
    }
    first = BudgetLedger.objects.filter(pk=ledger.pk, exceeded_at__isnull=True).update(
        exceeded_at=timezone.now()
    )
    if first:  # announced once per budget and period (the webhooks' budget.exceeded)
        payer = hold.payer
        transaction.on_commit(lambda: budget_exceeded.send(
            Budget, budget=budget, user_id=payer.user_id if payer else None,
            api_key_id=payer.api_key_id if payer else None,
            benchmark_id=payer.benchmark_id if payer else None, **details,
        ))  # fmt: skip
    word = "daily" if ledger.period == BudgetPeriod.DAY else "monthly"
    raise BudgetExceeded(
        f"The {word} spend cap of {cap} USD ({'this API key' if scope == 'api_key' else 'yours'})"
        f" would be passed: {details['spent']} USD spent, {details['reserved']} USD held by calls "
        f"in flight, this call may cost {details['needed']} USD.",
        details=details,
    )


# --- usage -----------------------------------------------------------------------------------
def close(holds: Iterable[Hold]) -> None:
    """Store the answered holds' usage (one row per payer, source, run, provider and model) and
    settle every hold's ledgers: to its real cost when answered, released otherwise."""
    holds = [hold for hold in holds if not hold.closed]
    if not holds:
        return
    rows: dict[tuple[Any, ...], ProviderCall] = {}
    for hold in holds:
        hold.closed = True
        if hold.answered:
            _add(rows, hold)
    with transaction.atomic():
        ProviderCall.objects.bulk_create(rows.values())
        settle(holds)


def settle(holds: Iterable[Hold]) -> None:
    """Give back what the holds reserved and count what they cost, once per hold: one UPDATE
    per ledger."""
    totals: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for hold in holds:
        if hold.settled or not hold.ledgers:
            continue
        hold.settled = True
        for ledger, amount in hold.ledgers.items():
            totals[ledger][0] += amount
            totals[ledger][1] += hold.cost or 0
    for ledger, (reserved, spent) in totals.items():
        BudgetLedger.objects.filter(pk=ledger).update(
            reserved=F("reserved") - reserved, spent=F("spent") + spent
        )


def _add(rows: dict[tuple[Any, ...], ProviderCall], hold: Hold) -> None:
    payer = hold.payer or Payer(None)
    key = (payer, hold.source, hold.provider, hold.model, hold.cost is None)
    row = rows.get(key)
    if row is None:
        rows[key] = ProviderCall(
            user_id=payer.user_id, api_key_id=payer.api_key_id, source=hold.source,
            provider=hold.provider, model=hold.model, benchmark_id=payer.benchmark_id,
            input_tokens=hold.input_tokens, output_tokens=hold.output_tokens, cost=hold.cost,
        )  # fmt: skip
        return
    row.calls += 1
    row.input_tokens += hold.input_tokens
    row.output_tokens += hold.output_tokens
    if row.cost is not None and hold.cost is not None:
        row.cost += hold.cost


async def adone(hold: Hold) -> None:
    """An async caller's hold is done (answered, or else released): stored now, or with the
    run's batch it is in."""
    hold.done = True
    meter = current()
    if meter is None or meter.batch is None:
        await sync_to_async(close)([hold])
