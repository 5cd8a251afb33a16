"""Cost from the one pricing table (Price, editable in the admin); unknown prices give None."""

from __future__ import annotations

from decimal import Decimal

from benchmarks.models import Price

MILLION = Decimal(1_000_000)


def price_of(provider: str, model: str) -> Price | None:
    return Price.objects.filter(provider=provider, model=model).first()


def cost_at(price: Price | None, *, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """USD for one call at `price`, or None without a price."""
    if price is None:
        return None
    return (
        price.input_per_million * prompt_tokens + price.output_per_million * completion_tokens
    ) / MILLION


def cost(
    *, provider: str, model: str, prompt_tokens: int, completion_tokens: int
) -> Decimal | None:
    """USD for one call, or None when the table has no price for this provider's model."""
    return cost_at(
        price_of(provider, model), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )
