"""The web server as `make run` starts it (serve.asgi_command: gunicorn's ASGI worker, ours; and
SERVER=wsgi's threaded workers), spoken to over real sockets: what gunicorn answers before Django
(in the envelope), chunked bodies, keep-alive, and /ws frames over the size limit."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from leaderboard_site import serve
from tests.support.live import LiveServer

PASSWORD = "pw-" + "x" * 12
MAX_REQUEST_BYTES = 64 * 1024


class Server(LiveServer):
    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send bytes as they are; read the response with http.client."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            response = http.client.HTTPResponse(sock)
            response.begin()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers, response.read()

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        connection = self.connection()
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, data, {"Content-Type": "application/json", **headers})
        try:
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()


class ThreadedServer(Server):
    """SERVER=wsgi's web server: gunicorn's threaded WSGI workers (ours, serve.ThreadWorker)."""

    def command(self) -> list[str]:
        worker = ("--worker-class", "leaderboard_site.serve.ThreadWorker", "--threads", "2")
        return serve.gunicorn_command(serve.WSGI_APP, f"127.0.0.1:{self.port}", 1, *worker)


@pytest.fixture(scope="module", params=[Server, ThreadedServer], ids=["asgi", "wsgi"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("live")
    live = request.param(var_dir, MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES))
    with live:
        live.manage("create_user", "alice", "--role", "user", "--password", PASSWORD)
        yield live


def _token(live: Server) -> str:
    status, body = live.request(
        "POST", "/v1/auth/login", {"username": "alice", "password": PASSWORD}
    )
    assert status == 200, body
    return str(body["token"])


def _chunked(path: str, token: str, pieces: list[bytes]) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        + chunks
        + b"0\r\n\r\n"
    )


SEEN_REQUEST_IDS: set[str] = set()


def _envelope(status: int, headers: dict[str, str], body: bytes, code: str) -> dict[str, Any]:
    assert headers["content-type"] == "application/json", body
    assert headers["x-request-id"] not in SEEN_REQUEST_IDS  # each answer its own
    SEEN_REQUEST_IDS.add(headers["x-request-id"])
    payload: dict[str, Any] = json.loads(body)
    assert payload["error"]["code"] == code and payload["detail"] == payload["error"]["message"]
    assert payload["request_id"] == headers["x-request-id"]
    return payload


def _evaluations(live: Server, token: str) -> int:
    status, body = live.request("GET", "/v1/evaluations", Authorization=f"Bearer {token}")
    assert status == 200
    return int(body["total"])


def test_a_chunked_body_is_read(server: Server) -> None:
    token = _token(server)
    evaluation = json.dumps({"output": "4", "expected": "4", "metrics": ["exact_match"]}).encode()
    pieces = [evaluation[:10], evaluation[10:20], evaluation[20:]]
    status, _, body = server.raw(_chunked("/v1/evaluations", token, pieces))
    assert status == 201, body
    assert json.loads(body)["score"] == 1.0
    assert _evaluations(server, token) == 1


def test_a_chunked_body_over_the_limit_is_a_413_and_nothing_is_stored(server: Server) -> None:
    token = _token(server)
    before = _evaluations(server, token)
    padding = "x" * MAX_REQUEST_BYTES
    evaluation = json.dumps({"output": padding, "expected": "4", "metrics": ["exact_match"]})
    data = evaluation.encode()
    pieces = [data[i : i + 8192] for i in range(0, len(data), 8192)]
    status, headers, body = server.raw(_chunked("/v1/evaluations", token, pieces))
    assert status == 413
    assert _envelope(status, headers, body, "PAYLOAD_TOO_LARGE")
    assert _evaluations(server, token) == before


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n", 431,
         "HEADERS_TOO_LARGE"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200))
         + b"\r\n", 431, "HEADERS_TOO_LARGE"),
        (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
        (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "BAD_REQUEST"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "BAD_REQUEST"),
    ],
    ids=["request line", "header size", "header count", "request line garbage",
         "content-length", "nul in a header"],
)  # fmt: skip
def test_what_gunicorn_refuses_is_in_the_envelope(
    server: Server, request_bytes: bytes, status: int, code: str
) -> None:
    answered, headers, body = server.raw(request_bytes)
    assert answered == status
    _envelope(answered, headers, body, code)


def test_a_nul_in_the_path_is_a_400_on_the_real_server(server: Server) -> None:
    answered, headers, body = server.raw(
        b"GET /api/models/a%00b/c/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert answered == 400
    assert _envelope(answered, headers, body, "BAD_REQUEST")["error"]["details"]["where"] == "path"


def test_an_idle_connection_stays_usable(server: Server, settings: Any) -> None:
    assert settings.KEEPALIVE_SECONDS >= 60
    assert "--keep-alive" in serve.asgi_command("127.0.0.1:1", 1)
    connection = server.connection()
    connection.request("GET", "/health")
    first = connection.getresponse()
    first.read()
    assert first.status == 200 and first.getheader("Connection") != "close"
    time.sleep(4)  # the old 2 s keep-alive closed the connection by now
    connection.request("GET", "/health")
    again = connection.getresponse()
    again.read()
    assert again.status == 200
    connection.close()


def test_a_ws_frame_over_the_limit_gets_an_error_then_1009(server: Server, settings: Any) -> None:
    if isinstance(server, ThreadedServer):
        pytest.skip("SERVER=wsgi serves /ws from an ASGI worker on another address")
    limit = settings.WS_MAX_FRAME_BYTES

    async def scenario() -> list[Any]:
        seen: list[Any] = []
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/ws"
            async with session.ws_connect(url, max_msg_size=0) as ws:
                await ws.send_str(json.dumps({"type": "ping", "pad": "x" * limit}))
                seen.append(json.loads((await ws.receive(timeout=10)).data))
                seen.append(await ws.receive(timeout=10))
                seen.append(ws.close_code)
            async with session.ws_connect(url, max_msg_size=0) as ws:  # past gunicorn's own cap
                await ws.send_str("x" * (16 * limit + 1))
                seen.append(await ws.receive(timeout=10))
                seen.append(ws.close_code)
        return seen

    error, closing, code, gunicorn_closing, gunicorn_code = asyncio.run(scenario())
    assert error["type"] == "error" and error["code"] == "PAYLOAD_TOO_LARGE"
    assert closing.type == aiohttp.WSMsgType.CLOSE and code == 1009
    assert gunicorn_closing.type == aiohttp.WSMsgType.CLOSE and gunicorn_code == 1009


def test_an_idle_connection_does_not_hold_up_a_shutdown(tmp_path: Any) -> None:
    """gunicorn waits for open connections up to its graceful timeout (30 s): our worker closes
    the idle keep-alive ones as it stops."""
    with Server(tmp_path) as live:
        connection = live.connection()
        connection.request("GET", "/health")
        connection.getresponse().read()
        assert live.process is not None
        started = time.monotonic()
        live.process.terminate()
        live.process.wait(timeout=30)
        assert time.monotonic() - started < 10
        connection.close()
