"""Model providers behind one async interface; `get(name)` finds a configured one."""

from benchmarks.providers.base import (
    Generation,
    ModelProvider,
    ProviderError,
    UnknownModel,
    UnknownProvider,
)
from benchmarks.providers.registry import get, release_loop

__all__ = [
    "Generation",
    "ModelProvider",
    "ProviderError",
    "UnknownModel",
    "UnknownProvider",
    "get",
    "release_loop",
]
