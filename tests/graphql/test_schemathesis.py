"""Schemathesis' GraphQL mode over /graphql, against the production web server on a database of
its own (the REST run's server: the local Hub and model servers answer the calls out),
anonymously and as each role: no HTTP 5xx and no GraphQL error coded INTERNAL_ERROR
(schemathesis_hooks.py; refusals by design are GraphQL errors too). Every query and mutation
field is an operation; seed and example count are fixed; the runs have 3 minutes together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.test_schemathesis import PASSWORD, _report, _tail, _token, server
from tests.support import live

pytestmark = pytest.mark.slow

__all__ = ["server"]  # the REST run's fixture, for a server of this module's own

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
SEED = 20261204
MAX_EXAMPLES = 25
SECONDS_PER_RUN = 30  # the five runs within 3 minutes, with the server's start
CALLERS = ["anonymous", "st-viewer", "st-user", "st-service", "st-admin"]


@pytest.fixture(scope="module")
def graphql_server(server: live.LiveServer) -> live.LiveServer:
    for username, role in [("st-viewer", "viewer"), ("st-service", "service")]:
        server.manage("create_user", username, "--role", role, "--password", PASSWORD)
    return server


@pytest.mark.parametrize("caller", CALLERS)
def test_graphql_answers_without_a_server_error(
    graphql_server: live.LiveServer, caller: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{graphql_server.url}/graphql"]
    command += ["--checks", "no_internal_error", "--seed", str(SEED), "-n", str(MAX_EXAMPLES)]
    command += ["--generation-database", "none", "--no-color", "--request-timeout", "30"]
    if caller != "anonymous":
        command += ["-H", f"Authorization: Bearer {_token(graphql_server, caller)}"]
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    try:
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                             timeout=SECONDS_PER_RUN, env=environment)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis ran past {SECONDS_PER_RUN}s: {_tail(exc.stdout)}")
    assert run.returncode == 0, _report(run, graphql_server)
    tested = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", run.stdout)
    assert tested and int(tested.group(3)) > 20, run.stdout[-3000:]  # the schema's fields
