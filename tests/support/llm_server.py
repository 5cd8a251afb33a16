"""A local model server speaking the OpenAI and Anthropic HTTP APIs, for the provider tests.

The official `openai` and `anthropic` SDKs talk to it over real HTTP when their base URL points
here. Routes: OpenAI `POST /v1/chat/completions` (also streamed, as server-sent events),
`GET /v1/models`; Anthropic `POST /v1/messages`.

Tests configure answers (`answers`: a prompt substring -> the answer; default: an echo), the
known models (`models`; empty: any, and the model list names `any`), latency (`delay`, and
`delays`: a prompt substring -> extra seconds; `piece_delay` between streamed pieces), faults
(`fail_next`, with an optional `Retry-After`; the model list fails too) and read the request log
(`requests`, model list requests included; `streams_finished` counts streams sent whole).
Token counts are whitespace words, so tests can compute them by hand.

It is an asyncio server (aiohttp) on a thread of its own: hundreds of calls in flight cost it
little, so a benchmark measures the client, not this server.

    python -m tests.support.llm_server --port 8901 [--delay 0.05]
    # then OPENAI_BASE_URL=http://127.0.0.1:8901/v1 (ANTHROPIC_BASE_URL=http://127.0.0.1:8901)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
import uuid
from typing import Any

from aiohttp import web


def words(text: str) -> int:
    return len(text.split())


class LLMState:
    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.models: set[str] = set()
        self.delay = 0.0
        self.delays: dict[str, float] = {}
        self.piece_delay = 0.0
        self.streams_finished = 0
        self.requests: list[dict[str, Any]] = []
        self._faults: list[list[Any]] = []  # [remaining, status, retry_after]
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def answer(self, prompt: str) -> str:
        for needle, answer in self.answers.items():
            if needle in prompt:
                return answer
        return f"You said: {prompt}"

    def take_fault(self) -> tuple[int, float | None] | None:
        with self.lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault[0] -= 1
            if fault[0] <= 0:
                self._faults.pop(0)
            return fault[1], fault[2]


class LLMServer:
    """The server; a context manager that runs it on a daemon thread with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.state = LLMState()
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    def fail_next(
        self, count: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        with self.state.lock:
            self.state._faults.append([count, status, retry_after])

    async def _start(self) -> None:
        self._runner = web.AppRunner(application(self.state), access_log=None,
                                     shutdown_timeout=0.2)  # fmt: skip
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, backlog=1024)
        await site.start()
        self._port = self._runner.addresses[0][1]

    def __enter__(self) -> LLMServer:
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Answers still waiting (a test's stalled prompt) end with the server.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def __exit__(self, *exc: object) -> None:
        stop = asyncio.run_coroutine_threadsafe(self._stop(), self._loop)
        with contextlib.suppress(Exception):
            stop.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def serve_forever(self) -> None:
        with self:
            print(self.url, flush=True)
            threading.Event().wait()


def application(state: LLMState) -> web.Application:
    async def models(request: web.Request) -> web.Response:
        """The model list (OpenAI's shape, with the fields Anthropic's adds); logged, and
        failing like the other routes when a fault is pending."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        with state.lock:
            state.requests.append({"path": request.path, "body": None, "headers": headers,
                                   "query": dict(request.query), "time": time.time()})  # fmt: skip
        fault = state.take_fault()
        if fault is not None:
            error = {"message": f"injected {fault[0]}", "type": "server_error"}
            return web.json_response({"error": error}, status=fault[0])
        names = sorted(state.models) or ["any"]
        data = [{"id": m, "object": "model", "type": "model", "display_name": m} for m in names]
        return web.json_response({"object": "list", "data": data, "has_more": False,
                                  "first_id": names[0], "last_id": names[-1]})  # fmt: skip

    async def post(request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else {}
        headers = {name.lower(): value for name, value in request.headers.items()}
        with state.lock:
            state.requests.append({"path": request.path, "body": body, "headers": headers,
                                   "time": time.time()})  # fmt: skip
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            return await _answer(state, request, body)
        finally:
            with state.lock:
                state.in_flight -= 1

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", post)
    app.router.add_post("/v1/messages", post)
    return app


async def _answer(state: LLMState, request: web.Request, body: dict[str, Any]) -> Any:
    prompt = json.dumps(body.get("messages", []))
    extra = next((s for needle, s in state.delays.items() if needle in prompt), 0.0)
    if state.delay or extra:
        await asyncio.sleep(state.delay + extra)
    fault = state.take_fault()
    if fault is not None:
        status, retry_after = fault
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = {"message": f"injected {status}", "type": "server_error"}
        return web.json_response({"error": error}, status=status, headers=headers)
    model = body.get("model", "")
    if state.models and model not in state.models:
        error = {"message": f"The model '{model}' does not exist", "type":
                 "invalid_request_error", "code": "model_not_found"}  # fmt: skip
        return web.json_response({"error": error}, status=404)
    if request.path == "/v1/chat/completions":
        return await _openai_chat(state, request, body)
    return _anthropic(state, body)


async def _openai_chat(state: LLMState, request: web.Request, body: dict[str, Any]) -> Any:
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    text = state.answer(prompt)
    usage = {"prompt_tokens": words(prompt), "completion_tokens": words(text)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    ident, created, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time()), body["model"]
    if not body.get("stream"):
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": "stop"}  # fmt: skip
        return web.json_response({"id": ident, "object": "chat.completion", "created": created,
                                  "model": model, "choices": [choice], "usage": usage})  # fmt: skip
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}

    async def event(payload: Any) -> None:
        await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

    for index, piece in enumerate(_pieces(text)):
        if index and state.piece_delay:
            await asyncio.sleep(state.piece_delay)
        await event({**base, "choices": [{"index": 0, "delta": {"content": piece},
                                          "finish_reason": None}]})  # fmt: skip
    await event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        await event({**base, "choices": [], "usage": usage})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    state.streams_finished += 1
    return response


def _anthropic(state: LLMState, body: dict[str, Any]) -> web.Response:
    parts = [body.get("system") or ""]
    for message in body.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
        parts.append(str(content))
    prompt = "\n".join(p for p in parts if p)
    text = state.answer(prompt)
    return web.json_response({
        "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
        "model": body["model"], "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": words(prompt), "output_tokens": words(text)},
    })  # fmt: skip


def _pieces(text: str) -> list[str]:
    tokens = text.split(" ")
    return [token if index == 0 else f" {token}" for index, token in enumerate(tokens)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    server = LLMServer(args.host, args.port)
    server.state.delay = args.delay
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
