"""The provider interface: one async call for a completion, one for a stream of text."""

from __future__ import annotations

import asyncio
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import AsyncToSync

from leaderboard_site.api.errors import ApiError, ServiceUnavailable


class ProviderError(ApiError):
    """The provider failed or could not be reached (after the retries): 502 PROVIDER_ERROR."""

    status, code = 502, "PROVIDER_ERROR"


class UnknownProvider(ApiError):
    """No provider by that name is configured (400)."""


class UnknownModel(ApiError):
    """The provider does not serve the model (400)."""


class ProviderRefused(ApiError):
    """The provider refused this request (400/422: too long for the model, filtered...)."""


@dataclass(frozen=True)
class Generation:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


@dataclass
class Settings:
    name: str
    base_url: str | None
    api_key: str | None
    timeout: float
    max_retries: int
    max_concurrency: int


# How long a synchronous call waits for one of its provider's slots before its 503.
SLOT_WAIT_SECONDS = 1.0


@dataclass
class ModelProvider(ABC):
    """What every provider implements. At most `max_concurrency` calls run at once per event
    loop, and as many synchronous calls (complete_sync) per process; timeouts and retries
    (connection errors, 429 honouring Retry-After, 5xx) are the official SDK's, configured from
    the provider's settings."""

    settings: Settings
    # An SDK client's connection pool and the concurrency gate belong to one event loop (a
    # sync view runs each call in a loop of its own; a benchmark run shares one loop).
    _per_loop: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, tuple[Any, asyncio.Semaphore]
    ] = field(default_factory=weakref.WeakKeyDictionary, repr=False)
    # The gate above is per event loop, and each synchronous call has a loop of its own: these
    # slots cap the process's synchronous calls (the web threads a hanging provider can hold).
    _sync_slots: threading.BoundedSemaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sync_slots = threading.BoundedSemaphore(self.settings.max_concurrency)

    @property
    def name(self) -> str:
        return self.settings.name

    def _loop_state(self) -> tuple[Any, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        state = self._per_loop.get(loop)
        if state is None:
            gate = asyncio.Semaphore(self.settings.max_concurrency)
            state = self._per_loop[loop] = (self.new_client(), gate)
        return state

    @property
    def client(self) -> Any:
        return self._loop_state()[0]

    def gate(self) -> asyncio.Semaphore:
        return self._loop_state()[1]

    @abstractmethod
    def new_client(self) -> Any:
        """The SDK client for the running event loop (None when there is none)."""

    async def release(self) -> None:
        """Close the running loop's client and its connections (a loop that ends)."""
        state = self._per_loop.pop(asyncio.get_running_loop(), None)
        if state is not None and state[0] is not None:
            await state[0].close()

    def complete_sync(self, **arguments: Any) -> Generation:
        """`complete` from synchronous code (a view, a plugin's thread): it runs in an event loop
        of its own (even in a thread an ASGI server lent, whose loop other requests share),
        whose client is closed after."""

        async def once() -> Generation:
            try:
                return await self.complete(**arguments)
            finally:
                await self.release()

        if not self._sync_slots.acquire(timeout=SLOT_WAIT_SECONDS):
            raise ServiceUnavailable(
                f"Provider {self.name} is answering {self.settings.max_concurrency} calls "
                "already; try again shortly.",
                details={"reason": "provider_busy", "provider": self.name},
                extra={"retry_after": 1},
            )
        try:
            return AsyncToSync(once, force_new_loop=True)()
        finally:
            self._sync_slots.release()

    @abstractmethod
    async def complete(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> Generation: ...

    async def list_models(self) -> list[str] | None:
        """The models the provider says it serves (its own list, one quick request without
        retries); None for kinds without a list."""
        return None

    async def stream(
        self, *, model: str, prompt: str, max_tokens: int, temperature: float, system: str = ""
    ) -> AsyncIterator[str | Generation]:
        """The answer's text in pieces as it is generated, then the whole Generation (usage and
        latency). Providers that do not stream give the text in one piece."""
        generation = await self.complete(
            model=model, prompt=prompt, max_tokens=max_tokens, temperature=temperature,
            system=system,
        )  # fmt: skip
        yield generation.text
        yield generation
