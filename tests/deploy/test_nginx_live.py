"""deploy/nginx/site.conf running, in front of the production web server: the lists pass
through as the web server sends them (its gzip bytes and strong ETags), bodies over our limit are
refused by nginx in our envelope and those at it reach us, /ws and GraphQL's subscriptions
upgrade, static files come from the folder, and plain HTTP goes to HTTPS.

The site is used as it is but for its addresses: the ports, the web server's, and the static
folder's path.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.deploy.conftest import SITE, nginx_binary, nginx_conf, nginx_prefix
from tests.support.live import LiveServer, free_port

pytestmark = pytest.mark.slow

LIMIT = 10 * 1024 * 1024  # the settings' default MAX_REQUEST_BYTES, which the site repeats
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate


@dataclass
class Front:
    http_port: int
    https_port: int
    static: Path

    def request(
        self, method: str, path: str, *, tls: bool = True, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=30, context=TLS)
            if tls
            else http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        )
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        connection.close()
        return answer


def direct(server: LiveServer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("web"), workers=1, TRUSTED_PROXIES="127.0.0.1") as s:
        yield s


@pytest.fixture(scope="module")
def front(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    binary = nginx_binary()
    prefix = nginx_prefix(tmp_path_factory.mktemp("nginx"))
    (prefix / "static").mkdir()
    http_port, https_port = free_port(), free_port()
    site = SITE.read_text()
    for old, new in {
        "server web:7860;": f"server 127.0.0.1:{server.port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "alias /var/lib/leaderboard/static/;": f"alias {prefix}/static/;",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    conf = nginx_conf(prefix, site)
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(https_port, process, prefix)
        yield Front(http_port, https_port, prefix / "static")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for(port: int, process: subprocess.Popen[bytes], prefix: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((prefix / "logs" / "error.log").read_text()[-3000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not start")


@pytest.mark.parametrize("path", ["/api/leaderboard", "/api/leaderboard/formatted"])
def test_the_lists_pass_through_with_their_gzip_bytes_and_strong_etags(
    server: LiveServer, front: Front, path: str
) -> None:
    for encoding in ("gzip", "identity"):
        status, headers, body = front.request("GET", path, **{"Accept-Encoding": encoding})
        _, origin_headers, origin_body = direct(server, path, **{"Accept-Encoding": encoding})
        assert status == 200
        assert headers.get("content-encoding") == origin_headers.get("content-encoding")
        assert headers["etag"] == origin_headers["etag"]
        assert not headers["etag"].startswith("W/")
        assert body == origin_body
    status, _, _ = front.request("GET", path, **{"If-None-Match": headers["etag"]})
    assert status == 304


def test_a_body_over_our_limit_is_refused_by_nginx_in_our_envelope(front: Front) -> None:
    head = (
        "POST /api/votes/acme/model HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/json\r\nContent-Length: {LIMIT + 1}\r\n\r\n"
    )
    with TLS.wrap_socket(socket.create_connection(("127.0.0.1", front.https_port))) as sock:
        sock.sendall(head.encode())  # the body is never sent: nginx answers on the header
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())
        request_id = response.getheader("X-Request-ID")
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["error"]["details"] == {"limit_bytes": LIMIT}
    assert body["request_id"] == request_id
    assert body["timestamp"].endswith("Z")


def test_a_body_at_our_limit_reaches_the_web_server(front: Front) -> None:
    status, _, body = front.request(
        "POST",
        "/api/votes/acme/model",
        body=b" " * LIMIT,
        **{"Content-Type": "application/json"},
    )
    assert status == 401  # the web server's answer (anonymous), not nginx's 413
    assert json.loads(body)["error"]["code"] == "UNAUTHORIZED"


def test_the_event_stream_and_graphql_subscriptions_upgrade(front: Front) -> None:
    base = f"wss://127.0.0.1:{front.https_port}"

    async def scenario() -> tuple[Any, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{base}/ws", ssl=TLS) as ws:
                await ws.send_json({"type": "ping", "timestamp": 1})
                pong = await ws.receive_json(timeout=10)
            async with session.ws_connect(
                f"{base}/graphql", ssl=TLS, protocols=("graphql-transport-ws",)
            ) as ws:
                await ws.send_json({"type": "connection_init", "payload": {}})
                ack = await ws.receive_json(timeout=10)
        return pong, ack

    pong, ack = asyncio.run(scenario())
    assert pong["type"] == "pong" and pong["timestamp"] == 1
    assert ack["type"] == "connection_ack"


def test_static_files_come_from_the_folder(front: Front) -> None:
    (front.static / "probe.css").write_text("body { color: black; }")
    status, headers, body = front.request("GET", "/static/probe.css")
    assert (status, body) == (200, b"body { color: black; }")
    assert "max-age=604800" in headers["cache-control"]


def test_plain_http_answers_health_and_sends_the_rest_to_https(front: Front) -> None:
    status, _, body = front.request("GET", "/health", tls=False)
    assert status == 200 and json.loads(body)["status"]
    status, headers, _ = front.request("GET", "/api/leaderboard?x=1", tls=False)
    assert status == 301
    assert headers["location"] == "https://127.0.0.1/api/leaderboard?x=1"
