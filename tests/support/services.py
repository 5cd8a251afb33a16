"""A private PostgreSQL and a private Redis on free ports, for tests that stop, pause or restart
them (tests/faults/): the services the rest of the suite uses are never touched.

    with PrivatePostgres() as pg, PrivateRedis() as redis:
        LiveServer(tmp_path, DATABASE_URL=pg.url, REDIS_URL=redis.url)
        redis.pause(); ...; redis.resume()
        pg.restart()

PostgreSQL refuses to run as root, so `initdb` and the server run as the `postgres` OS user
(when the tests run as root) in a folder it owns; it listens on 127.0.0.1 and a socket folder of
its own, with trust authentication. Redis keeps nothing on disk.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.live import free_port

# initdb's own folder holds the rest (pg_ctl, psql), which PATH may not.
PG_BIN = Path(shutil.which("initdb") or "/usr/local/bin/initdb").resolve().parent


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class _Service:
    """stop/start/restart and pause (SIGSTOP)/resume (SIGCONT) of one server process."""

    port: int

    def pid(self) -> int:
        raise NotImplementedError

    def pause(self) -> None:
        """Freeze the server: connections stay open and nothing answers (a hung host)."""
        os.kill(self.pid(), signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid(), signal.SIGCONT)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        self.stop()
        self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError, RuntimeError):
            self.resume()
        self.stop()


_template: Path | None = None  # a stopped, migrated cluster, copied per PrivatePostgres


def _migrated_template() -> Path:
    """A cluster whose database `test` has every migration (built once per test session: a
    migration run takes ~20 s, a copy of its folder a fraction of one)."""
    global _template
    if _template is None:
        from tests.support.live import manage

        with PrivatePostgres() as pg:
            manage(pg.root, "migrate", "--no-input", "-v0", DATABASE_URL=pg.url)
            pg.stop()
            folder = tempfile.mkdtemp(prefix="faults-pg-template-")
            atexit.register(shutil.rmtree, folder, True)
            _template = Path(folder) / "data"
            subprocess.run(["cp", "-a", str(pg.data), str(_template)], check=True)
    return _template


class PrivatePostgres(_Service):
    """PostgreSQL in a temporary cluster; `url` names its database `test` (migrated when
    `migrated`)."""

    def __init__(self, *, migrated: bool = False, max_connections: int = 100) -> None:
        self.migrated = migrated
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.max_connections = max_connections
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*as_postgres, *command], capture_output=True, text=True, timeout=120, check=check
        )

    def __enter__(self) -> PrivatePostgres:
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        if self.migrated:
            subprocess.run(["cp", "-a", str(_migrated_template()), str(self.data)], check=True)
            self.start()
            return self
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync", "--locale", "C",
        )  # fmt: skip
        self.start()
        self._run(
            str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", "postgres", "-c", "CREATE DATABASE test",
        )  # fmt: skip
        return self

    def start(self) -> None:
        # fsync off: the cluster is thrown away; a fast stop/start is what the faults need.
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections={self.max_connections} -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        _wait_for_port(self.port, 30, None)

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every client (what a restart does to them); `immediate` crashes."""
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                check=False,
            )  # fmt: skip

    def pid(self) -> int:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            raise RuntimeError("PostgreSQL is not running")
        return int(pidfile.read_text().split()[0])

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis(_Service):
    """redis-server with no persistence; `url` is its database 0."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.root = Path(tempfile.mkdtemp(prefix="faults-redis-"))

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.root), "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _wait_for_port(self.port, 10, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pid(self) -> int:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("Redis is not running")
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self.root, ignore_errors=True)
