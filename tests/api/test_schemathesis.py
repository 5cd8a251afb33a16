"""Schemathesis over the whole published schema, against the production web server (gunicorn's
ASGI worker, as `make run` serves) on a database of its own, anonymously and as a user and an
admin, with the rate limits lifted: no server error, and every status, content type, header and
body as the schema documents it.

The embedded default serves from a migrated SQLite file; with DATABASE_URL (PostgreSQL) the server
gets a fresh `<name>_schemathesis` database beside the tests' own, and with REDIS_URL the tests'
Redis database. A local server speaking the Hub's protocol answers the Hub calls (unknown models
are 404 there) and a local model server is the `openai` provider, so the schema's examples
succeed. Seed and example count are fixed; the runs have 8 minutes together.

The user's and admin's runs leave out logout and refresh, which would end the session the run
uses (every later request a 401); a short run of those two alone checks them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.support import live

pytestmark = pytest.mark.slow

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
SEED = 20261204
MAX_EXAMPLES = 12
SECONDS_PER_RUN = 150  # 8 minutes at most for the runs together
SESSION_ENDING = r"^/v1/auth/(logout|refresh)$"
PASSWORD = "schemathesis-" + "p" * 12


@contextmanager
def _own_database(var_dir: Path) -> Iterator[dict[str, str]]:
    """The server's settings for its own database (and the tests' Redis database, if any): a
    fresh PostgreSQL database beside the tests' one when they run on PostgreSQL, else nothing
    (LiveServer's SQLite file)."""
    overrides: dict[str, str] = {}
    if settings.REDIS_URL:
        overrides["REDIS_URL"] = settings.TEST_REDIS_URL
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        yield overrides
        return
    import psycopg

    name = f"{database['NAME']}_schemathesis"
    login = ":".join(filter(None, [database["USER"], database["PASSWORD"]]))
    base = f"postgres://{login}@{database['HOST']}:{database['PORT']}"

    def admin(statement: str) -> None:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')
    overrides["DATABASE_URL"] = f"{base}/{name}"
    live.manage(var_dir, "migrate", "--no-input", "-v0", **overrides)
    try:
        yield overrides
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    from tests.support.hub_server import HubServer
    from tests.support.llm_server import LLMServer

    var_dir = tmp_path_factory.mktemp("schemathesis")
    with (
        _own_database(var_dir) as overrides,
        HubServer(var_dir / "hub") as hub,
        LLMServer() as llm,
        live.LiveServer(
            var_dir, HF_ENDPOINT=hub.url, OPENAI_BASE_URL=f"{llm.url}/v1",
            OPENAI_API_KEY="sk-test", **overrides,
        ) as running,
    ):  # fmt: skip
        for username, role in [("st-user", "user"), ("st-admin", "admin")]:
            running.manage("create_user", username, "--role", role, "--password", PASSWORD)
        yield running


def _token(server: live.LiveServer, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{server.url}/v1/auth/login", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["token"])


@pytest.mark.parametrize(
    ("caller", "operations"),
    [("anonymous", "all"), ("st-user", "all but the session's end"),
     ("st-admin", "all but the session's end"), ("st-user", "the session's end")],
)  # fmt: skip
def test_the_server_answers_as_its_schema_says(
    server: live.LiveServer, caller: str, operations: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "schemathesis.cli", "run"]
    command += [f"{server.url}/api-docs/openapi.json"]
    command += ["--checks", ",".join(CHECKS), "--seed", str(SEED), "-n", str(MAX_EXAMPLES)]
    command += ["--generation-database", "none", "--no-color", "--request-timeout", "30"]
    if caller != "anonymous":
        # Our credentials on every request (anonymously, made-up ones are tried too).
        command += ["-H", f"Authorization: Bearer {_token(server, caller)}"]
        command += ["--generation-with-security-parameters", "false"]
    if operations == "all but the session's end":
        command += ["--exclude-path-regex", SESSION_ENDING]
    elif operations == "the session's end":
        command += ["--include-path-regex", SESSION_ENDING]
    try:
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS_PER_RUN
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis ran past {SECONDS_PER_RUN}s: {_tail(exc.stdout)}")
    assert run.returncode == 0, _report(run, server)
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", run.stdout)
    assert selected, run.stdout[-3000:]
    assert selected.group(1) == selected.group(3), selected.group(0)  # none left untested


def _tail(output: Any, size: int = 20_000) -> str:
    text = output.decode(errors="replace") if isinstance(output, bytes) else (output or "")
    return text[-size:]


def _report(run: subprocess.CompletedProcess[str], server: live.LiveServer) -> str:
    errors = [line for line in server.log.read_text(errors="replace").splitlines()
              if '"level":"ERROR"' in line]  # fmt: skip
    logged = "\n".join(line[:3000] for line in errors[:5])
    return f"{_tail(run.stdout)}\n{run.stderr[-3000:]}\nthe server's first errors:\n{logged}"
