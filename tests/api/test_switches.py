"""ENABLE_REST, ENABLE_GRAPHQL and ENABLE_WEBSOCKET: each one off removes its routes (a 404 in
the envelope, a refused handshake) and leaves the rest. Each is read at start, so each case is
a fresh server process: the ASGI application `make run` serves, with only that switch off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT, SETTINGS_FROM_ENVIRONMENT

SWITCHES = ("ENABLE_REST", "ENABLE_GRAPHQL", "ENABLE_WEBSOCKET")

# Requests on a migrated empty database: each answers from its route, or 404.
PROBE = """
import asyncio, json, os, sys
from leaderboard_site.asgi import application
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core.management import call_command
from leaderboard_site.realtime import bridge

call_command("migrate", verbosity=0)
GRAPHQL = json.dumps({"query": "{ version }"}).encode()
REQUESTS = {
    "index": ("GET", "/", b""),
    "health": ("GET", "/health", b""),
    "schema": ("GET", "/api-docs/openapi.json", b""),
    "docs": ("GET", "/docs", b""),  # pages: a browser's Accept
    "admin": ("GET", "/admin/login/", b""),
    "leaderboard": ("GET", "/api/leaderboard", b""),
    "submit": ("POST", "/api/models/submit", b"{}"),
    "votes": ("POST", "/api/votes/acme/tiny", b"{}"),
    "v1": ("GET", "/v1/completions", b""),
    "auth": ("GET", "/v1/auth/me", b""),
    "graphql": ("POST", "/graphql", GRAPHQL),
}
if os.environ.get("ENABLE_REST") != "false":
    del REQUESTS["leaderboard"]  # it needs the leaderboard's tables, which this process has not

async def main():
    seen = {}
    for name, (method, path, body) in REQUESTS.items():
        accept = b"text/html" if name in ("index", "docs", "admin") else b"application/json"
        headers = [(b"content-type", b"application/json"), (b"accept", accept)]
        response = await HttpCommunicator(application, method, path, body, headers).get_response()
        code = None
        if response["status"] == 404:
            code = json.loads(response["body"])["error"]["code"]
        seen[name] = [response["status"], code]
    socket = WebsocketCommunicator(application, "/ws")
    connected, close_code = await socket.connect()
    if connected:
        await socket.send_json_to({"type": "ping", "timestamp": 1})
        seen["ws"] = (await socket.receive_json_from())["type"]
        await socket.disconnect()
    else:
        seen["ws"] = "refused"
    await bridge.stop()
    print(json.dumps(seen))

asyncio.run(main())
"""

ANSWERS = {  # with every API on
    "index": [200, None],
    "health": [200, None],
    "schema": [200, None],
    "docs": [200, None],
    "admin": [200, None],
    "submit": [401, None],
    "votes": [401, None],
    "v1": [401, None],
    "auth": [401, None],
    "graphql": [200, None],
    "ws": "pong",
}
REMOVED = {
    "ENABLE_REST": {"leaderboard", "submit", "votes", "v1", "auth"},
    "ENABLE_GRAPHQL": {"graphql"},
    "ENABLE_WEBSOCKET": {"ws"},
}


def probe(tmp_path: Path, **switches: str) -> dict[str, Any]:
    """What a fresh server process with these settings answers."""
    env = {k: v for k, v in os.environ.items()
           if k not in SETTINGS_FROM_ENVIRONMENT and k not in SWITCHES}  # fmt: skip
    env.update(switches, VAR_DIR=str(tmp_path), ENABLE_SWAGGER="true",
               DJANGO_SETTINGS_MODULE="leaderboard_site.settings.base")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("switch", SWITCHES)
def test_a_switch_off_removes_its_routes_and_leaves_the_rest(switch: str, tmp_path: Path) -> None:
    seen = probe(tmp_path, **{switch: "false"})
    removed = REMOVED[switch]
    for name in removed:
        assert seen.pop(name) == ("refused" if name == "ws" else [404, "NOT_FOUND"]), name
    assert seen == {name: answer for name, answer in ANSWERS.items() if name not in removed}


def test_a_bad_switch_value_stops_the_server(tmp_path: Path) -> None:
    from tests.conftest import manage

    result = manage("check", VAR_DIR=str(tmp_path), ENABLE_WEBSOCKET="sometimes")
    assert result.returncode != 0
    assert "ENABLE_WEBSOCKET" in result.stderr.splitlines()[-1]
