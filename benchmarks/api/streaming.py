"""`POST /v1/completions` with `stream: true`: the answer as server-sent events while the
provider generates it, then the stored completion.

    data: {"type": "delta", "text": "..."}            (as many as the provider sends)
    data: {"type": "completion", ...the completion}   (stored, with usage, latency and cost)
    data: [DONE]

An error before the first piece (an unknown model, a provider down) is an ordinary error
response; one after it is `data: {"type": "error", "error": {...}, "request_id", "timestamp"}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from rest_framework.utils.encoders import JSONEncoder

from benchmarks import services, spend
from benchmarks.api.serializers import CompletionSerializer
from benchmarks.providers.base import Generation, ModelProvider
from leaderboard_site.accounts.models import ApiKey, User
from leaderboard_site.api.errors import ApiError, envelope


class SyncStream:
    """A provider's async stream, driven from synchronous code on an event loop of its own."""

    def __init__(self, provider: ModelProvider, **arguments: Any):
        self.provider = provider
        self.loop = asyncio.new_event_loop()
        self.pieces = provider.stream(**arguments)

    def next(self) -> str | Generation | None:
        try:
            return self.loop.run_until_complete(anext(self.pieces))
        except StopAsyncIteration:
            return None

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.pieces.aclose())  # type: ignore[attr-defined]
            self.loop.run_until_complete(self.provider.release())
        finally:
            self.loop.close()


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, cls=JSONEncoder).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


class _Events:
    """The response's chunks, one `step` at a time: iterated by a WSGI server, or by an ASGI
    one (each step in a thread, so the server's loop never waits on the provider)."""

    def __init__(self, stream: SyncStream, first: str | Generation | None, **record: Any):
        self.stream, self.pending, self.record = stream, [first], record
        self.finished = False

    def step(self) -> bytes | None:
        if self.finished:
            return None
        try:
            piece = self.pending.pop() if self.pending else self.stream.next()
            if piece is None:
                self.close()
                return DONE
            if isinstance(piece, Generation):
                completion = services.completion_record(generation=piece, **self.record)
                return _event({"type": "completion", **CompletionSerializer(completion).data})
            return _event({"type": "delta", "text": piece})
        except Exception as exc:  # the provider or the database failed mid-stream
            self.close()
            failure = exc if isinstance(exc, ApiError) else ApiError(
                f"The stream failed: {type(exc).__name__}", status=500, code="INTERNAL_ERROR"
            )  # fmt: skip
            error = {"type": "error", **envelope(failure.code, failure.message, failure.details),
                     "request_id": self.record["request_id"]}  # fmt: skip
            return _event(error) + DONE

    def close(self) -> None:
        if not self.finished:
            self.finished = True
            try:
                self.stream.close()
            finally:  # a stream that ended before its usage came: the reservation released
                spend.close([self.record["hold"]])

    def __iter__(self) -> Iterator[bytes]:
        try:
            while (chunk := self.step()) is not None:
                yield chunk
        finally:  # the client went away
            self.close()

    async def aiter(self) -> AsyncIterator[bytes]:
        try:
            while (chunk := await sync_to_async(self.step)()) is not None:
                yield chunk
        finally:
            await sync_to_async(self.close)()


def stream_completion(
    *, owner: User, api_key: ApiKey | None, provider: ModelProvider, prompt: str,
    request_id: str, asgi: bool, **arguments: Any,
) -> StreamingHttpResponse:  # fmt: skip
    hold = services.completion_hold(  # 402 before the provider is asked
        owner=owner, api_key=api_key, provider=provider.name, model=arguments["model"],
        prompt=arguments.get("system", "") + prompt, max_tokens=arguments["max_tokens"],
    )  # fmt: skip
    stream = SyncStream(provider, prompt=prompt, **arguments)
    try:
        first = stream.next()  # fails here (4xx/502 envelope) before anything is sent
    except BaseException:
        stream.close()
        spend.close([hold])
        raise
    chunks = _Events(stream, first, owner=owner, provider=provider.name, prompt=prompt,
                     request_id=request_id, hold=hold)  # fmt: skip
    response = StreamingHttpResponse(chunks.aiter() if asgi else iter(chunks),
                                     content_type="text/event-stream")  # fmt: skip
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the pieces back
    return response
