"""The stack a fault test breaks: the production web server and Celery workers as processes of
their own, on a private PostgreSQL and Redis (tests/support/services.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import PROJECT, LiveServer, environment
from tests.support.services import PrivatePostgres, PrivateRedis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [name for name in ("initdb", "redis-server") if shutil.which(name) is None]
    if missing:
        skip = pytest.mark.skip(reason=f"the fault tests start their own servers: no {missing}")
        for item in items:
            if "tests/faults/" in str(item.path):
                item.add_marker(skip)


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The envelope's error code, when the answer is one."""
        try:
            return str(self.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return None


def call(
    url: str,
    *,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One request; every HTTP status is an answer (status 0: no answer, the connection
    failed or timed out)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content, status, head = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        content, status, head = error.read(), error.code, dict(error.headers)
    except OSError as error:
        content, status, head = str(error).encode(), 0, {}
    return Answer(status, content, time.perf_counter() - started, head)


def worker_command(
    queue: str, *, concurrency: int = 1, beat: Path | None = None, loglevel: str = "WARNING"
) -> list[str]:
    """A Celery worker for one queue, as `make run` starts it (serve.py); with the beat
    scheduler (its schedule file at `beat`) when given."""
    scheduler = ["--beat", "--schedule", str(beat)] if beat is not None else []
    return [sys.executable, "-m", "celery", "-A", "leaderboard_site", "worker", *scheduler,
            "--queues", queue, "--concurrency", str(concurrency), "-n", f"{queue}@%h",
            "--loglevel", loglevel, "--without-mingle", "--without-gossip"]  # fmt: skip


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: PrivateRedis
    server: LiveServer
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def env(self) -> dict[str, str]:
        return environment(self.server.var_dir, **self.server.overrides)

    def start_worker(
        self, queue: str, *, concurrency: int = 1, beat: bool = False, loglevel: str = "WARNING"
    ) -> subprocess.Popen[bytes]:
        schedule = self.server.var_dir / "celerybeat-schedule" if beat else None
        with (self.server.var_dir / f"worker-{queue}.log").open("ab") as log:
            process = subprocess.Popen(
                worker_command(queue, concurrency=concurrency, beat=schedule, loglevel=loglevel),
                cwd=PROJECT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.workers[queue] = process
        return process

    def stop_workers(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        for process in self.workers.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def api_key(self, username: str, role: str = "user") -> str:
        return self.api_keys(username, role=role)[0]

    def api_keys(self, *usernames: str, role: str = "user") -> list[str]:
        """A user (password "pw-xxxxxxxxxxxx") and an API key for each name, in one process (a
        manage.py command costs seconds of start-up on a busy machine)."""
        script = (
            "from leaderboard_site.accounts import services\n"
            f"for name in {list(usernames)!r}:\n"
            f"    user, _ = services.user_create(username=name, role={role!r},"
            " password='pw-' + 'x' * 12)\n"
            "    print(services.api_key_create(owner=user, name='faults').key)\n"
        )
        return self.server.manage("shell", "-v0", "-c", script).split()[-len(usernames) :]


@contextmanager
def stack(var_dir: Path, *, workers: int = 1, **overrides: str) -> Iterator[Stack]:
    """PostgreSQL (migrated) and Redis of the test's own, and the web server on them."""
    with ExitStack() as stack_:
        pg = stack_.enter_context(PrivatePostgres(migrated=True))
        redis = stack_.enter_context(PrivateRedis())
        server = LiveServer(
            var_dir, workers=workers, DATABASE_URL=pg.url, REDIS_URL=redis.url, **overrides
        )
        built = Stack(pg, redis, server)
        stack_.callback(built.stop_workers)
        stack_.enter_context(server)
        yield built
