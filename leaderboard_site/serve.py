"""`make run`: the whole system in one command.

Starts the web server on BIND_ADDRESS, a Celery worker with the beat scheduler, a worker for
benchmark runs (the `benchmarks` queue), an evaluation worker (the `evaluation` queue, one job
at a time), and stops them all together on Ctrl-C or
when any of them exits.

The web server is gunicorn's ASGI workers serving HTTP and the WebSocket stream (/ws) on
BIND_ADDRESS: Django's sync views run whole in a pool thread per request (handlers.py), as fast
as gunicorn's threaded WSGI workers in `make bench`, and the full leaderboard goes out of the
event loop. SERVER=wsgi runs threaded WSGI workers for HTTP and one ASGI worker for /ws on
WS_BIND_ADDRESS instead (for a proxy that routes /ws).

The workers are gunicorn's (`ASGIWorker`, `ThreadWorker` below), answering the requests gunicorn
refuses before Django sees them (414, 431, a malformed request line...) in the API's error
envelope instead of plain text.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import django
from gunicorn import util as gunicorn_util
from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi, gthread

ASGI_APP, WSGI_APP = "leaderboard_site.asgi:application", "leaderboard_site.wsgi:application"


def gunicorn_command(app: str, bind: str, workers: int, *worker: str) -> list[str]:
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        bind,
        "--workers",
        str(workers),
        *worker,
        "--keep-alive",
        str(settings.KEEPALIVE_SECONDS),
        "--forwarded-allow-ips",
        ",".join(settings.TRUSTED_PROXIES) or "127.0.0.1",
        "--log-level",
        "warning",
    ]


def asgi_command(bind: str, workers: int) -> list[str]:
    """gunicorn's ASGI workers: HTTP and /ws. Above WS_MAX_FRAME_BYTES a /ws message gets the
    protocol's error from the consumer, then 1009; gunicorn holds at most 16 times that in
    memory, and closes the socket with 1009 before reading anything bigger."""
    from django.conf import settings

    frame_limit = str(16 * settings.WS_MAX_FRAME_BYTES)
    worker = ("--worker-class", "leaderboard_site.serve.ASGIWorker")
    return gunicorn_command(
        ASGI_APP, bind, workers, *worker, "--websocket-max-message-size", frame_limit
    )


def _commands() -> dict[str, list[str]]:
    from django.conf import settings

    python = sys.executable
    if settings.SERVER == "asgi":  # HTTP and the WebSocket on one address
        web = {"web": asgi_command(settings.BIND_ADDRESS, settings.WEB_CONCURRENCY)}
    else:
        web = {
            "web": gunicorn_command(
                WSGI_APP,
                settings.BIND_ADDRESS,
                settings.WEB_CONCURRENCY,
                "--worker-class",
                "leaderboard_site.serve.ThreadWorker",
                "--threads",
                str(settings.HTTP_THREADS),
            ),
        }
        if settings.ENABLE_WEBSOCKET:
            web["realtime"] = asgi_command(settings.WS_BIND_ADDRESS, 1)
    return {
        **web,
        "worker": [
            python, "-m", "celery", "-A", "leaderboard_site", "worker", "--beat",
            "--queues", "default", "--concurrency", "2", "-n", "default@%h",
            "--loglevel", settings.LOG_LEVEL.upper(),
            "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ],
        # Benchmark runs wait on model providers: two at a time, beside the default queue.
        "benchmarks": [
            python, "-m", "celery", "-A", "leaderboard_site", "worker",
            "--queues", "benchmarks", "--concurrency", "2", "-n", "benchmarks@%h",
            "--loglevel", settings.LOG_LEVEL.upper(),
        ],
        # One evaluation at a time per process: a model takes the machine's memory.
        "evaluator": [
            python, "-m", "celery", "-A", "leaderboard_site", "worker",
            "--queues", "evaluation", "--concurrency", "1", "-n", "evaluation@%h",
            "--loglevel", settings.LOG_LEVEL.upper(),
        ],
    }  # fmt: skip


# --- the requests gunicorn refuses itself, in the error envelope -----------------------------
CODES = {414: "URI_TOO_LONG", 417: "EXPECTATION_FAILED", 426: "UPGRADE_REQUIRED",
         431: "HEADERS_TOO_LARGE", 501: "NOT_IMPLEMENTED"}  # fmt: skip


def error_response_bytes(
    status: int, message: str, extra_headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A whole HTTP/1.1 response in the envelope; gunicorn closes the connection after it."""
    from leaderboard_site.api.errors import CODES_BY_STATUS, envelope

    code = CODES_BY_STATUS.get(status) or CODES.get(status, "ERROR")
    # A request id of its own: a worker thread still holds its last request's in the context.
    body = {**envelope(code, message), "request_id": str(uuid.uuid4())}
    content = json.dumps(body).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(content))),
        ("X-Request-ID", body["request_id"]),
        *extra_headers,
        ("Connection", "close"),
    ]
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + "\r\n").encode("latin-1") + content


class EnvelopeProtocol(ASGIProtocol):  # type: ignore[misc]
    connections: weakref.WeakSet[EnvelopeProtocol] = weakref.WeakSet()

    def connection_made(self, transport: Any) -> None:
        self.connections.add(self)
        super().connection_made(transport)

    def _send_error_response(
        self, status: int, message: str, extra_headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._safe_write(error_response_bytes(status, message, extra_headers))

    def close_if_idle(self) -> None:
        if self._keepalive_handle is not None:  # between requests, waiting out its keep-alive
            self._keepalive_timeout()


class ASGIWorker(gasgi.ASGIWorker):  # type: ignore[misc]
    """gunicorn's ASGI worker (`-k asgi`) with EnvelopeProtocol, closing its idle keep-alive
    connections when it stops (gunicorn would wait for them, up to its graceful timeout)."""

    def init_process(self) -> None:
        # The worker makes its connections' protocol by this module-level name; gunicorn has
        # no setting for it. (tests/api/test_live_server.py sees the envelope on a real one.)
        gasgi.ASGIProtocol = EnvelopeProtocol
        super().init_process()

    async def _shutdown(self) -> None:
        for connection in list(EnvelopeProtocol.connections):
            connection.close_if_idle()
        await super()._shutdown()


def _write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    gunicorn_util.write_nonblock(sock, error_response_bytes(status_int, mesg))


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker (`-k gthread`), its refusals in the envelope too."""

    def init_process(self) -> None:
        gunicorn_util.write_error = _write_error  # what the worker's handle_error writes with
        super().init_process()


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def _fresh_metrics() -> None:
    """Every process started here writes its /metrics samples to one folder, emptied first: a
    new server must not add up the last one's processes."""
    from django.conf import settings

    from leaderboard_site.metrics.exposition import reset_folder

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.PROMETHEUS_MULTIPROC_DIR
    reset_folder(Path(settings.PROMETHEUS_MULTIPROC_DIR))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")
    django.setup()
    _fresh_metrics()

    processes = {name: subprocess.Popen(cmd) for name, cmd in _commands().items()}  # noqa: S603

    def terminate(*_: object) -> None:
        _stop(processes)
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    try:
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)
    failed = [name for name, p in processes.items() if p.returncode not in (0, -2, -15, None)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
