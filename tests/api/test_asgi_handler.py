"""The ASGI handler (leaderboard_site/handlers.py), as asgi.py builds it: Django's sync stack in
one pool thread per request, the event loop for reading, sending, async streams and the async
views of the full lists."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured

from benchmarks.models import Completion
from leaderboard import snapshot
from leaderboard.api.views import serve_snapshot_async
from leaderboard_site.accounts import tokens
from leaderboard_site.asgi import django_asgi_app
from leaderboard_site.handlers import async_chain
from tests.leaderboard.factories import EntryFactory

# The handler's threads hold database connections of their own.
pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
         body: bytes = b"", leave_after: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """One request through the handler; after `leave_after` body messages, the client leaves."""
    path, _, query = path.partition("?")
    headers = {**(headers or {}), **({"Content-Length": str(len(body))} if body else {})}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        gone = asyncio.Event()
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            bodies = sum(1 for m in sent if m["type"] == "http.response.body")
            if leave_after is not None and bodies >= leave_after:
                gone.set()

        await django_asgi_app(scope, receive, send)

    async_to_sync(run)()
    return sent


def head(sent: list[dict[str, Any]]) -> tuple[int, dict[str, str]]:
    start = sent[0]
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_view_that_queries_the_database_runs_off_the_event_loop() -> None:
    sent = call("/health")  # in the event loop, Django would refuse the query
    status, headers = head(sent)
    assert status == 200 and json.loads(body_of(sent))["checks"]["database"]["status"] == "up"
    assert headers["x-request-id"] and headers["x-ratelimit-limit"]
    assert headers["x-content-type-options"] == "nosniff"  # Django's middleware ran too


def test_a_posted_body_reaches_the_view() -> None:
    sent = call("/graphql", method="POST", body=b'{"query": "{ version }"}',
                headers={"Content-Type": "application/json"})  # fmt: skip
    assert head(sent)[0] == 200
    assert json.loads(body_of(sent)) == {"data": {"version": "0.1.0"}}


def test_the_full_list_in_its_pieces_and_uncompressed_as_a_stream() -> None:
    EntryFactory.create_batch(3)
    zipped = call("/api/leaderboard/formatted", headers={"Accept-Encoding": "gzip"})
    status, headers = head(zipped)
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["etag"]
    pieces = [m["body"] for m in zipped if m["type"] == "http.response.body" and m.get("body")]
    assert [len(piece) for piece in pieces] == [
        len(p) for p in snapshot.snapshot_get("formatted").gzip_parts if p
    ]  # as held: never joined
    assert int(headers["content-length"]) == len(b"".join(pieces))
    models = json.loads(gzip.decompress(body_of(zipped)))["models"]
    assert len(models) == 3
    plain = call("/api/leaderboard/formatted")  # an async stream: no warning, not buffered
    assert head(plain)[1]["content-length"] == str(len(body_of(plain)))
    assert json.loads(body_of(plain))["models"] == models


def test_the_async_path_keeps_the_apis_manners(settings: Any) -> None:
    EntryFactory.create_batch(2)
    status, headers = head(call("/api/leaderboard", headers={"Origin": "https://app.example"}))
    assert status == 200
    assert headers["x-request-id"] and headers["x-ratelimit-remaining"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["access-control-allow-origin"] == "*"
    status, again = head(call("/api/leaderboard", headers={"If-None-Match": headers["etag"]}))
    assert status == 304 and again["etag"] == headers["etag"]
    settings.RATE_LIMIT_RPS, settings.RATE_LIMIT_BURST = 0.01, 1
    codes = [head(call("/api/leaderboard?again"))[0] for _ in range(2)]
    assert codes == [200, 429]


def test_a_middleware_that_would_take_a_thread_is_refused_at_start(settings: Any) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    with pytest.raises(ImproperlyConfigured, match="LocaleMiddleware"):
        async_chain(serve_snapshot_async)


def _sse(alice: Any) -> dict[str, str]:
    token = tokens.issue(username=alice.username, role=alice.role)[0]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _stream_body() -> bytes:
    return json.dumps({"provider": "openai", "model": "tiny-1", "prompt": "Tell me",
                       "stream": True}).encode()  # fmt: skip


def test_a_server_sent_stream_goes_out_piece_by_piece(alice: Any, llm: Any) -> None:
    llm.state.answers["Tell me"] = "one two three"
    sent = call("/v1/completions", method="POST", headers=_sse(alice), body=_stream_body())
    assert head(sent)[0] == 200, body_of(sent)
    events = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert len(events) >= 5 and events[-1] == b"data: [DONE]\n\n"
    assert Completion.objects.get().text == "one two three"


def test_a_client_that_leaves_stops_the_stream(alice: Any, llm: Any) -> None:
    llm.state.answers["Tell me"] = " ".join(["word"] * 100)
    llm.state.piece_delay = 0.05  # five seconds in all
    started = time.monotonic()
    call("/v1/completions", method="POST", headers=_sse(alice), body=_stream_body(),
         leave_after=2)  # fmt: skip
    assert time.monotonic() - started < 3.5
    assert llm.state.streams_finished == 0 and not Completion.objects.exists()
