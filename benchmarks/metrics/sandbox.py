"""Where evaluator plugins do CPU work: child processes that a timeout really stops.

A plugin that spins in Python code holds the interpreter lock of the process it runs in, so in a
web worker's thread it would stop that worker's event loop, its other threads and its sockets,
and no timeout could fire. Here each call goes to a child process (`python -m
benchmarks.metrics.sandbox_child`, without Django: it starts in tens of milliseconds) over a pipe;
the caller waits on the pipe, which holds no lock, and a child that has not answered by the
deadline is killed and replaced on the next call. At most PLUGIN_PROCESSES children per process
work at once; a call that cannot get one before its deadline times out too, so a call costs its
caller at most PLUGIN_TIMEOUT, however busy the sandbox.

The protocol is JSON over a multiprocessing Connection: first the parent's `sys.path` (so that the
child finds the same plugins), then `[entry_point_value, case]` per call, answered by
`{"ok": true, "score", "details"}` or `{"ok": false, "kind", "message", ...}`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)

MAX_REPLY_BYTES = 1 << 20  # a result's details are small; a child that sends more is broken


class SandboxTimeout(Exception):
    """The plugin did not answer before its deadline (its process was killed)."""


class SandboxCrashed(Exception):
    """The plugin's process died or answered something unreadable."""


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    conn: _Duplex
    calls: int = field(default=0)

    @classmethod
    def start(cls, memory_mb: int) -> _Child:
        parent_end, child_end = os.pipe(), os.pipe()
        fds = (parent_end[0], child_end[1])
        command = [sys.executable, "-m", "benchmarks.metrics.sandbox_child", *map(str, fds)]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, str(memory_mb)], pass_fds=fds, stdin=subprocess.DEVNULL, close_fds=True
        )
        os.close(parent_end[0])
        os.close(child_end[1])
        # One Connection over the two pipe ends: we write requests, read answers.
        conn = _Duplex(read_fd=child_end[0], write_fd=parent_end[1])
        conn.send_bytes(json.dumps({"sys_path": sys.path}).encode())
        return cls(process, conn)

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            logger.warning("plugin process %s did not die", self.process.pid)
        self.conn.close()


class _Duplex:
    """Two one-way Connections (a pipe each way) seen as one."""

    def __init__(self, *, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send_bytes(self, data: bytes) -> None:
        self._writer.send_bytes(data)

    def poll(self, timeout: float) -> bool:
        return self._reader.poll(timeout)

    def recv_bytes(self, maxlength: int) -> bytes:
        return self._reader.recv_bytes(maxlength)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


class Sandbox:
    """A small pool of plugin processes for one process of ours."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()

    def call(self, spec: str, case: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run the plugin `spec` ("module:attribute") on `case` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise SandboxTimeout("every plugin process stayed busy until the deadline")
        child: _Child | None = None
        try:
            child = self._take()
            reply = self._ask(child, json.dumps([spec, case]).encode(), deadline)
        except BaseException:
            if child is not None:
                child.kill()  # it may be mid-call: never hand it to another caller
                child = None
            raise
        finally:
            if child is not None:
                self._idle.put(child)
            self._slots.release()
        return reply

    def _take(self) -> _Child:
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                return _Child.start(self.memory_mb)
            if child.process.poll() is None:
                return child
            child.conn.close()  # died while idle (killed from outside): start another

    @staticmethod
    def _ask(child: _Child, request: bytes, deadline: float) -> dict[str, Any]:
        try:
            child.conn.send_bytes(request)
            if not child.conn.poll(max(0.0, deadline - time.monotonic())):
                raise SandboxTimeout("the plugin did not answer in time")
            reply: dict[str, Any] = json.loads(child.conn.recv_bytes(MAX_REPLY_BYTES))
        except (EOFError, OSError, ValueError) as exc:
            code = child.process.poll()
            raise SandboxCrashed(f"the plugin's process failed (exit code {code}): {exc}") from exc
        child.calls += 1
        return reply

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return
