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
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.utils.encoders import JSONEncoder

from benchmarks import services
from benchmarks.api.serializers import CompletionSerializer
from benchmarks.providers.base import Generation, ModelProvider
from leaderboard_site.accounts.models import User
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


def stream_completion(
    *, owner: User, provider: ModelProvider, prompt: str, request_id: str, **arguments: Any
) -> StreamingHttpResponse:
    stream = SyncStream(provider, prompt=prompt, **arguments)
    try:
        first = stream.next()  # fails here (4xx/502 envelope) before anything is sent
    except BaseException:
        stream.close()
        raise

    def events() -> Iterator[bytes]:
        piece = first
        try:
            while piece is not None:
                if isinstance(piece, Generation):
                    completion = services.completion_record(
                        owner=owner, provider=provider.name, prompt=prompt, generation=piece,
                        request_id=request_id,
                    )  # fmt: skip
                    yield _event({"type": "completion", **CompletionSerializer(completion).data})
                else:
                    yield _event({"type": "delta", "text": piece})
                piece = stream.next()
        except ApiError as exc:
            error = {"type": "error", **envelope(exc.code, exc.message, exc.details)}
            yield _event({**error, "request_id": request_id})
        finally:
            stream.close()
        yield b"data: [DONE]\n\n"

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the pieces back
    return response
