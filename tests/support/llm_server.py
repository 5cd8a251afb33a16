"""A local model server speaking the OpenAI and Anthropic HTTP APIs, for the provider tests.

The official `openai` and `anthropic` SDKs talk to it over real HTTP when their base URL points
here. Routes: OpenAI `POST /v1/chat/completions` (also streamed, as server-sent events),
`GET /v1/models`; Anthropic `POST /v1/messages`.

Tests configure answers (`answers`: a prompt substring -> the answer; default: an echo), the
known models (`models`; empty: any), latency (`delay`, and `delays`: a prompt substring -> extra
seconds), faults (`fail_next`, with an optional `Retry-After`) and read the request log
(`requests`). Token counts are whitespace words, so tests
can compute them by hand.

    python -m tests.support.llm_server --port 8901     # by hand: OPENAI_BASE_URL=http://127.0.0.1:8901/v1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def words(text: str) -> int:
    return len(text.split())


class LLMState:
    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.models: set[str] = set()
        self.delay = 0.0
        self.delays: dict[str, float] = {}
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
    """The server; a context manager that runs it on a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.state = LLMState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    def fail_next(
        self, count: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        with self.state.lock:
            self.state._faults.append([count, status, retry_after])

    def __enter__(self) -> LLMServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    state: LLMState
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            models = sorted(self.state.models) or ["any"]
            self._json({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})
        else:
            self._json({"error": {"message": f"no route {self.path}"}}, 404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        headers = {name.lower(): value for name, value in self.headers.items()}
        with self.state.lock:
            self.state.requests.append({"path": self.path, "body": body, "headers": headers,
                                        "time": time.time()})  # fmt: skip
            self.state.in_flight += 1
            self.state.most_in_flight = max(self.state.most_in_flight, self.state.in_flight)
        try:
            self._answer(body)
        finally:
            with self.state.lock:
                self.state.in_flight -= 1

    def _answer(self, body: dict[str, Any]) -> None:
        prompt = json.dumps(body.get("messages", []))
        extra = next((s for needle, s in self.state.delays.items() if needle in prompt), 0.0)
        if self.state.delay or extra:
            time.sleep(self.state.delay + extra)
        fault = self.state.take_fault()
        if fault is not None:
            status, retry_after = fault
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            error = {"message": f"injected {status}", "type": "server_error"}
            return self._json({"error": error}, status, headers)
        model = body.get("model", "")
        if self.state.models and model not in self.state.models:
            error = {"message": f"The model '{model}' does not exist", "type":
                     "invalid_request_error", "code": "model_not_found"}  # fmt: skip
            return self._json({"error": error}, 404)
        if self.path == "/v1/chat/completions":
            return self._openai_chat(body)
        if self.path == "/v1/messages":
            return self._anthropic(body)
        self._json({"error": {"message": f"no route {self.path}"}}, 404)

    # --- OpenAI ----------------------------------------------------------------------------------
    def _openai_chat(self, body: dict[str, Any]) -> None:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        text = self.state.answer(prompt)
        usage = {"prompt_tokens": words(prompt), "completion_tokens": words(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        ident, created, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time()), body["model"]
        if not body.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text},
                      "finish_reason": "stop"}  # fmt: skip
            return self._json({"id": ident, "object": "chat.completion", "created": created,
                               "model": model, "choices": [choice], "usage": usage})  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
        for piece in _pieces(text):
            delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            self._event({**base, "choices": [delta]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if body.get("stream_options", {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": usage})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    # --- Anthropic -------------------------------------------------------------------------------
    def _anthropic(self, body: dict[str, Any]) -> None:
        parts = [body.get("system") or ""]
        for message in body.get("messages", []):
            content = message.get("content", "")
            if isinstance(content, list):
                content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
            parts.append(str(content))
        prompt = "\n".join(p for p in parts if p)
        text = self.state.answer(prompt)
        self._json({
            "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
            "model": body["model"], "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": words(prompt), "output_tokens": words(text)},
        })  # fmt: skip

    # --- plumbing --------------------------------------------------------------------------------
    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _event(self, payload: dict[str, Any]) -> None:
        self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


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
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever()


if __name__ == "__main__":
    main()
