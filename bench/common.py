"""Shared bench plumbing: an isolated environment, servers, wrk, nginx and result files."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"


def _bench_database(url: str | None) -> str | None:
    """A fresh `<name>_bench` PostgreSQL database beside DATABASE_URL's (never the real one)."""
    if not url or not url.startswith(("postgres://", "postgresql://")):
        return None  # SQLite in the bench's own VAR_DIR
    import psycopg

    base, _, name = url.rpartition("/")
    bench_name = f"{name or 'postgres'}_bench"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
        conn.execute(f'CREATE DATABASE "{bench_name}"')
    return f"{base}/{bench_name}"


_BENCH_SECRET = secrets.token_urlsafe(50)


def bench_environ(var_dir: Path) -> dict[str, str]:
    """The bench's own VAR_DIR (SQLite, cache, broker) or its own PostgreSQL database."""
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="leaderboard_site.settings.base",
        BENCH_LIFT_RATE_LIMITS="1",
        # One secret for the whole bench run: this process's settings are made once, by the
        # first suite, and its tokens must hold on every suite's servers.
        SECRET_KEY=os.environ.get("SECRET_KEY") or _BENCH_SECRET,
    )
    database = _bench_database(os.environ.get("DATABASE_URL"))
    if database:
        env["DATABASE_URL"] = database
    if env.get("REDIS_URL"):
        env["CACHE_KEY_PREFIX"] = f"bench{os.getpid()}"
    return env


@contextmanager
def isolated_environment() -> Iterator[dict[str, str]]:
    """Point this process and its children at a throwaway VAR_DIR, then set Django up."""
    var_dir = Path(tempfile.mkdtemp(prefix="bench-var-"))
    saved = dict(os.environ)
    from django.conf import settings
    from django.db import connections

    if settings.configured:  # a previous suite's connections: its database is made anew
        connections.close_all()
    env = bench_environ(var_dir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        yield env
    finally:
        connections.close_all()
        os.environ.clear()  # the next suite derives its database from the real DATABASE_URL
        os.environ.update(saved)
        shutil.rmtree(var_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def server(
    command: list[str], env: dict[str, str], probe: str
) -> Iterator[subprocess.Popen[bytes]]:
    log = Path(env["VAR_DIR"]) / "server.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, cwd=PROJECT, start_new_session=True, stdout=output, stderr=output
        )
    try:
        wait_for(probe)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        _report_errors(log)


def _report_errors(log: Path) -> None:
    """A bench's figures mean little if the server failed meanwhile: say so, with the first."""
    errors = [line for line in log.read_text(errors="replace").splitlines()
              if '"level":"ERROR"' in line or "Traceback" in line]  # fmt: skip
    if errors:
        print(f"  !! the server logged {len(errors)} error(s); the first: {errors[0][:2000]}")


def rss_mb(pid: int) -> float:
    """Largest RSS among a process and its children (the web worker processes), in MB."""
    pids = [pid, *_children(pid)]
    largest = 0
    for one in pids:
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            largest = max(largest, int(match.group(1)))
    return largest / 1024


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    kids = [int(p) for p in found]
    return kids + [g for k in kids for g in _children(k)]


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, *, headers: dict[str, str], duration: int, connections: int = 16,
        script: Path | None = None) -> Load:  # fmt: skip
    """`script`: a wrk Lua script (a POST's method and body, for instance)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk nginx-light")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n)
        for n in re.findall(
            r"(?:Non-2xx or 3xx responses|Socket errors: .*?timeout)\s*:?\s*(\d+)", out
        )
    )
    return Load(rps, p50, p99, errors)


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{ application/json json; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            root {root}/www;
            default_type application/json;
            add_header Content-Encoding gzip;
            add_header Vary Accept-Encoding;
        }}
    }}
}}
"""


@contextmanager
def nginx_serving(files: dict[str, bytes]) -> Iterator[str]:
    """nginx serving these bytes as pre-compressed JSON files; yields its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is missing: apt-get install nginx-light wrk")
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    root.chmod(0o755)  # nginx workers drop root privileges and must read the files
    (root / "www").mkdir()
    for name, data in files.items():
        (root / "www" / name).write_bytes(data)
    port = free_port()
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port))
    process = subprocess.Popen([binary, "-c", str(root / "nginx.conf"), "-p", str(root)])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/{next(iter(files))}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def etag_of(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request) as response:
        return response.headers["ETag"]


def save(name: str, results: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=lambda o: asdict(o)))
    return path


def python() -> str:
    return sys.executable


def gunicorn(port: int, *, workers: int = 2) -> list[str]:
    """The web server as `make run` starts it (SERVER=asgi: gunicorn's ASGI workers, Django's sync
    stack in HTTP_THREADS pool threads) on this port."""
    return [
        python(), "-m", "gunicorn", "leaderboard_site.asgi:application", "-b", f"127.0.0.1:{port}",
        "-w", str(workers), "-k", "asgi", "--log-level", "warning",
    ]  # fmt: skip


def gunicorn_threaded(port: int, *, workers: int = 2, threads: int = 8) -> list[str]:
    """SERVER=wsgi's web server: gunicorn's threaded WSGI workers."""
    return [
        python(), "-m", "gunicorn", "leaderboard_site.wsgi:application", "-b", f"127.0.0.1:{port}",
        "-w", str(workers), "-k", "gthread", "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
