"""Fixtures shared by every test: a clean cache, API clients, and the local Hub server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache, caches
from rest_framework.test import APIClient

from leaderboard import snapshot
from leaderboard_site import redis_cache
from leaderboard_site.api import ratelimit
from submissions.selectors import scores_changed

DATA = Path(__file__).parent / "data"
PROJECT = Path(__file__).parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL row locks (set DATABASE_URL)")
    skip_redis = pytest.mark.skip(reason="needs a Redis server (set REDIS_URL)")
    skip_shared = pytest.mark.skip(
        reason="needs a database other processes can reach (the embedded test database is in "
        "memory; set DATABASE_URL)"
    )
    for item in items:
        if "needs_postgres" in item.keywords and "postgresql" not in engine:
            item.add_marker(skip_pg)
        if "needs_redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)
        if "needs_shared_database" in item.keywords and "postgresql" not in engine:
            item.add_marker(skip_shared)


def manage(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process with only these settings on top of a clean environment."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_FROM_ENVIRONMENT}
    env.update(environ, DJANGO_SETTINGS_MODULE="leaderboard_site.settings.base")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


SETTINGS_FROM_ENVIRONMENT = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET", "ENVIRONMENT"}


def read_body(response: Any) -> bytes:
    """The whole body of a response, streaming or not.

    Reading a streaming response to its end closes it (the test client's wrapper does, without
    closing the test's database connection, which a direct response.close() would).
    """
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, settings: Any) -> Iterator[None]:
    """Each test starts with an empty cache and its own VAR_DIR (snapshot files)."""
    settings.VAR_DIR = tmp_path_factory.mktemp("var")
    redis_cache.outage.reset()  # a test that made Redis fail leaves no outage behind it
    cache.clear()  # with Redis: FLUSHDB of the tests' own database, rate-limit buckets included
    caches["ratelimit"].clear()
    ratelimit.reset_local()
    from leaderboard_site.accounts.services import forget_principals

    forget_principals()
    snapshot._local.clear()
    scores_changed.reset()
    # A channel layer keeps state bound to the event loop that first used it (channels_redis'
    # receive lock); each test runs its own loops, so each gets a layer of its own.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    snapshot._local.clear()
    redis_cache.outage.reset()


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def hub(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A local server speaking the Hub's HTTP protocol; settings.HF_ENDPOINT points at it."""
    from tests.support.hub_server import HubServer

    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with HubServer(tmp_path / "hub") as server:
        settings.HF_ENDPOINT = server.url
        settings.VAR_DIR = tmp_path / "var"
        yield server


@pytest.fixture
def llm(settings: Any) -> Iterator[Any]:
    """A local OpenAI- and Anthropic-compatible server, as the `openai` and `anthropic`
    providers."""
    from tests.support.llm_server import LLMServer

    with LLMServer() as server:
        settings.ENV_PROVIDERS = {
            "openai": {"kind": "openai", "base_url": f"{server.url}/v1", "api_key": "sk-test"},
            "anthropic": {"kind": "anthropic", "base_url": server.url, "api_key": "sk-ant"},
        }
        settings.PROVIDER_TIMEOUT = 5.0
        settings.PROVIDER_MAX_RETRIES = 2
        yield server


# --- people ---------------------------------------------------------------------------------
def make_user(username: str, role: str, password: str = "pw-" + "x" * 8) -> Any:
    from leaderboard_site.accounts import services

    user, _ = services.user_create(username=username, role=role, password=password)
    return user


def client_for(user: Any) -> APIClient:
    """An API client that sends a fresh JWT for `user`."""
    from leaderboard_site.accounts import tokens

    token, _ = tokens.issue(username=user.username, role=user.role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def alice(db: Any) -> Any:
    return make_user("alice", "user")


@pytest.fixture
def bob(db: Any) -> Any:
    return make_user("bob", "user")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return make_user("root", "admin")


@pytest.fixture
def alice_client(alice: Any) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(bob: Any) -> APIClient:
    return client_for(bob)
