"""Fixtures of the Test Bench tests: misbehaving evaluator plugins."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from benchmarks.metrics import registry


@pytest.fixture
def misbehaving_plugins(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """`boom` raises, `sleepy` outlives PLUGIN_TIMEOUT (0.3 s), `spinner` spins forever, `hog`
    wants 8 GB, `missing` cannot be loaded."""
    real = metadata.entry_points

    def with_test_plugins(**params: Any) -> list[EntryPoint]:
        found = list(real(**params))
        if params.get("group") == registry.GROUP:
            found += [
                EntryPoint("boom", "tests.support.plugins:BOOM", registry.GROUP),
                EntryPoint("sleepy", "tests.support.plugins:SLEEPY", registry.GROUP),
                EntryPoint("spinner", "tests.support.plugins:SPINNER", registry.GROUP),
                EntryPoint("hog", "tests.support.plugins:HOG", registry.GROUP),
                EntryPoint("missing", "tests.support.nowhere:X", registry.GROUP),
            ]
        return found

    monkeypatch.setattr(registry, "entry_points", with_test_plugins)
    settings.PLUGIN_TIMEOUT = 0.3
    registry.plugins.cache_clear()
    yield
    registry.plugins.cache_clear()


@pytest.fixture(autouse=True)
def _no_remembered_budgets() -> Iterator[None]:
    """Each test sees the budgets as they are in its database, not as a process remembered."""
    from benchmarks import spend

    spend.forget_budgets()
    yield
    spend.forget_budgets()


@pytest.fixture
def priced(db: Any) -> Any:
    """$2 per million input tokens, $10 per million output tokens for openai/tiny-1."""
    from decimal import Decimal

    from benchmarks.models import Price

    return Price.objects.create(
        provider="openai", model="tiny-1", input_per_million=Decimal(2),
        output_per_million=Decimal(10),
    )  # fmt: skip
