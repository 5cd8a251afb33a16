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
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import django


def _commands() -> dict[str, list[str]]:
    from django.conf import settings

    python = sys.executable

    def gunicorn(app: str, bind: str, workers: int, *worker: str) -> list[str]:
        return [
            python,
            "-m",
            "gunicorn",
            app,
            "--bind",
            bind,
            "--workers",
            str(workers),
            *worker,
            "--forwarded-allow-ips",
            ",".join(settings.TRUSTED_PROXIES) or "127.0.0.1",
            "--log-level",
            "warning",
        ]

    asgi, wsgi = "leaderboard_site.asgi:application", "leaderboard_site.wsgi:application"
    if settings.SERVER == "asgi":  # HTTP and the WebSocket on one address
        web = {
            "web": gunicorn(
                asgi, settings.BIND_ADDRESS, settings.WEB_CONCURRENCY, "--worker-class", "asgi"
            )
        }
    else:
        web = {
            "web": gunicorn(
                wsgi,
                settings.BIND_ADDRESS,
                settings.WEB_CONCURRENCY,
                "--worker-class",
                "gthread",
                "--threads",
                str(settings.HTTP_THREADS),
            ),
            "realtime": gunicorn(asgi, settings.WS_BIND_ADDRESS, 1, "--worker-class", "asgi"),
        }
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


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")
    django.setup()

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
