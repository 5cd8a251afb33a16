"""`/ws` frames no one should send: nested past MAX_JSON_DEPTH or holding a NUL (an
INVALID_MESSAGE error, the socket stays open), or larger than WS_MAX_FRAME_BYTES (an error,
then close code 1009)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from leaderboard_site.asgi import application
from leaderboard_site.realtime import bridge

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(path: str = "/ws") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def _still_open(socket: WebsocketCommunicator) -> None:
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "pong"


def _run(scenario: Any) -> None:
    async def wrapped() -> None:
        try:
            await scenario()
        finally:
            await bridge.stop()

    async_to_sync(wrapped)()


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 60_000,
        '{"a":' * 2_000 + "1" + "}" * 2_000,
        '{"type": "ping", "x": ' + "[" * 65 + "]" * 65 + "}",
    ],
    ids=["60k brackets", "2000-level object", "65 levels"],
)
def test_a_deeply_nested_frame_is_an_invalid_message_and_the_socket_stays_open(frame: str) -> None:
    async def scenario() -> None:
        socket = await _connect()
        await socket.send_to(text_data=frame)
        error = await socket.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "INVALID_MESSAGE"
        assert error["details"] == {"reason": "too_deep", "where": "message", "limit": 64}
        await _still_open(socket)
        await socket.disconnect()

    _run(scenario)


def test_a_nul_in_a_frame_is_an_invalid_message(settings: Any) -> None:
    async def scenario() -> None:
        socket = await _connect()
        for frame in ('{"type": "subscribe", "topics": ["submission.status\\u0000"]}',
                      '{"type\\u0000": "ping"}', b'{"type": "ping"}\x00'):  # fmt: skip
            if isinstance(frame, bytes):
                await socket.send_to(bytes_data=frame)
            else:
                await socket.send_to(text_data=frame)
            error = await socket.receive_json_from(timeout=5)
            assert error["code"] == "INVALID_MESSAGE" and error["details"]["reason"] == "nul"
        await _still_open(socket)
        await socket.disconnect()

    _run(scenario)


def test_a_frame_over_the_limit_gets_an_error_then_close_1009(settings: Any) -> None:
    settings.WS_MAX_FRAME_BYTES = 2048

    async def scenario() -> None:
        socket = await _connect()
        frame = '{"type": "ping", "pad": "' + "é" * 1020 + '"}'  # 1,047 characters
        await socket.send_to(text_data=frame)
        error = await socket.receive_json_from(timeout=5)
        assert error["code"] == "PAYLOAD_TOO_LARGE"
        assert error["details"] == {"limit_bytes": 2048, "size_bytes": len(frame.encode())}
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 1009}

    _run(scenario)


def test_a_frame_at_the_limit_is_read(settings: Any) -> None:
    settings.WS_MAX_FRAME_BYTES = 2048

    async def scenario() -> None:
        socket = await _connect()
        head, tail = '{"type": "ping", "pad": "', '"}'
        frame = head + "x" * (2048 - len(head) - len(tail)) + tail
        assert len(frame.encode()) == 2048
        await socket.send_to(text_data=frame)
        assert (await socket.receive_json_from(timeout=5))["type"] == "pong"
        await socket.disconnect()

    _run(scenario)


def test_a_nul_in_the_query_string_refuses_the_socket() -> None:
    async def scenario() -> None:
        socket = await _connect("/ws?token=ltb_%00")
        error = await socket.receive_json_from(timeout=5)
        assert error["code"] == "BAD_REQUEST" and "NUL" in error["message"]
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4400}

    _run(scenario)
