"""The production web server (gunicorn's ASGI workers, as `make run` serves) in a process of its
own, on the embedded default: a migrated SQLite file and file caches under a folder of the
test's, so that stopping or starving it touches nothing else.

    with LiveServer(tmp_path, workers=1) as server:
        urllib.request.urlopen(f"{server.url}/health")
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
_migrated: Path | None = None  # one migrated database per test session, copied per server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(var_dir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment for the embedded default in `var_dir`, plus `overrides`."""
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "ENVIRONMENT"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(VAR_DIR=str(var_dir), SECRET_KEY="live-" + "k" * 40, JWT_SECRET="live-" + "j" * 40)
    env.update(overrides)
    return env


def manage(var_dir: Path, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=environment(var_dir, **overrides),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def migrated_database(var_dir: Path) -> None:
    """`var_dir/db.sqlite3`, migrated (once per session, then copied; kept when there)."""
    global _migrated
    if _migrated is None:
        template = Path(tempfile.mkdtemp(prefix="live-template-"))
        manage(template, "migrate", "--no-input", "-v0")
        _migrated = template / "db.sqlite3"
    var_dir.mkdir(parents=True, exist_ok=True)
    if not (var_dir / "db.sqlite3").exists():
        shutil.copy(_migrated, var_dir / "db.sqlite3")


class LiveServer:
    """gunicorn's ASGI workers (ours, serve.ASGIWorker) on a free port, serving HTTP and /ws,
    with its own database; `whole=True`: everything `make run` starts (the web server and the
    Celery workers, on the embedded default's file broker)."""

    def __init__(
        self, var_dir: Path, *, workers: int = 1, whole: bool = False, **overrides: str
    ) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.whole = whole
        self.overrides = {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning", **overrides}
        if whole:
            self.overrides.update(
                BIND_ADDRESS=f"127.0.0.1:{self.port}", WEB_CONCURRENCY=str(workers)
            )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "server.log"

    def manage(self, *args: str) -> str:
        return manage(self.var_dir, *args, **self.overrides).stdout

    def __enter__(self) -> LiveServer:
        if self.overrides.get("DATABASE_URL", "").startswith("postgres"):
            self.var_dir.mkdir(parents=True, exist_ok=True)
            self.manage("migrate", "--no-input", "-v0")  # a server of its own: migrated there
        else:
            migrated_database(self.var_dir)
        env = environment(self.var_dir, **self.overrides)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_up()
        return self

    def command(self) -> list[str]:
        """The command `make run` serves with (its web server only, unless whole)."""
        from leaderboard_site.serve import asgi_command

        if self.whole:
            return [sys.executable, "-m", "leaderboard_site.serve"]
        return asgi_command(f"127.0.0.1:{self.port}", self.workers)

    def _wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-3000:]}")

    def worker_pids(self) -> set[int]:
        """The gunicorn workers' process ids (children of the arbiter)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
