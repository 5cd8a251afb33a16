from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rest_framework.test import APIClient

from leaderboard_site.api import ratelimit
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(settings: Any) -> Any:
    settings.RATE_LIMIT_RPS = 0.01
    settings.RATE_LIMIT_BURST = 3
    return settings


def test_every_response_carries_the_headers(anon: APIClient, settings: Any) -> None:
    for response in (anon.get("/health"), anon.get("/no/such/page"), anon.post("/api/leaderboard")):
        assert response["X-RateLimit-Limit"] == "100"
        assert 0 <= int(response["X-RateLimit-Remaining"]) <= 50
        assert int(response["X-RateLimit-Reset"]) >= int(time.time())
    settings.RATE_LIMIT_RPS = 0.5  # slow refill: the count is exact
    ratelimit.reset_local()
    from django.core.cache import cache

    cache.clear()
    remaining = [int(anon.get("/health")["X-RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [49, 48, 47]


def test_over_the_limit_is_a_429_with_retry_after(anon: APIClient, tight: Any) -> None:
    for _ in range(3):
        assert anon.get("/health").status_code == 200
    response = anon.get("/health")
    assert response.status_code == 429
    body = response.json()
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["error"]["retry_after"] == int(response["Retry-After"]) >= 1
    assert response["X-RateLimit-Remaining"] == "0"
    assert body["request_id"] == response["X-Request-ID"]


def test_buckets_are_per_principal(
    tight: Any, alice_client: APIClient, bob_client: APIClient
) -> None:
    for _ in range(3):
        alice_client.get("/v1/auth/me")
    assert alice_client.get("/v1/auth/me").status_code == 429
    assert bob_client.get("/v1/auth/me").status_code == 200
    assert APIClient().get("/health").status_code == 200  # anonymous: its own bucket by IP


def test_forwarded_for_counts_only_from_trusted_proxies(tight: Any, settings: Any) -> None:
    client = APIClient()
    for n in range(3):  # an untrusted client cannot dodge the limit by inventing addresses
        client.get("/health", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert client.get("/health", HTTP_X_FORWARDED_FOR="10.0.0.99").status_code == 429
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client.get("/health", HTTP_X_FORWARDED_FOR="10.0.0.99").status_code == 200


def test_writes_have_their_own_stricter_bucket(settings: Any, alice_client: APIClient) -> None:
    settings.RATE_LIMIT_WRITE_RPS = 0.01
    settings.RATE_LIMIT_WRITE_BURST = 2
    for _ in range(2):
        assert (
            alice_client.post("/v1/auth/api-keys", {"name": "k"}, format="json").status_code == 201
        )
    refused = alice_client.post("/v1/auth/api-keys", {"name": "k"}, format="json")
    assert refused.status_code == 429 and refused.json()["error"]["details"]["scope"] == "writes"
    # The headers describe the bucket that refused, not the (roomy) request bucket.
    assert refused["X-RateLimit-Limit"] == "0.01"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert alice_client.get("/v1/auth/api-keys").status_code == 200


def _login(address: str, username: str, password: str = "guess") -> Any:
    client = APIClient(REMOTE_ADDR=address)
    body = {"username": username, "password": password}
    return client.post("/v1/auth/login", body, format="json")


def test_logins_are_limited_per_address(settings: Any) -> None:
    settings.LOGIN_RATE = "2/h"
    assert _login("192.0.2.0", "other1").status_code == 401
    assert _login("192.0.2.0", "other2").status_code == 401
    blocked = _login("192.0.2.0", "other3")
    assert blocked.status_code == 429 and blocked.json()["error"]["details"]["scope"] == "login-ip"
    assert blocked.json()["error"]["retry_after"] >= 1


def test_guessing_from_many_addresses_does_not_lock_the_user_out(settings: Any) -> None:
    """Failures per username and address, and a ceiling per username across addresses that
    spares the addresses the user signed in from before."""
    settings.LOGIN_RATE, settings.LOGIN_USER_RATE = "3/m", "5/h"
    make_user("target", "user", password="the-right-one")
    assert _login("198.51.100.7", "target", "the-right-one").status_code == 200  # home

    for _ in range(3):  # one address: its own window fills
        assert _login("192.0.2.1", "target").status_code == 401
    one = _login("192.0.2.1", "target")
    assert one.status_code == 429 and one.json()["error"]["details"]["scope"] == "login-user-ip"

    for n in range(2, 4):  # more addresses: the username's ceiling (5 failures) fills
        assert _login(f"192.0.2.{n}", "target").status_code == 401
    stranger = _login("192.0.2.99", "target", "the-right-one")
    assert stranger.status_code == 429
    assert stranger.json()["error"]["details"]["scope"] == "login-user"

    assert _login("198.51.100.7", "target", "the-right-one").status_code == 200  # still home
    assert _login("192.0.2.99", "someone-else").status_code == 401  # others unaffected


def test_bucket_refills_at_the_rate() -> None:
    first = ratelimit.take("refill-test", rate=1000.0, burst=1)
    assert first.allowed and first.remaining == 0
    time.sleep(0.01)
    assert ratelimit.take("refill-test", rate=1000.0, burst=1).allowed


def test_limits_lifted_for_benches(settings: Any, tight: Any) -> None:
    settings.RATE_LIMIT_ENABLED = False
    client = APIClient()
    assert all(client.get("/health").status_code == 200 for _ in range(10))


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_requests_against_a_limit_of_50_let_50_through(
    live_server: Any, settings: Any
) -> None:
    settings.RATE_LIMIT_RPS = 0.001
    settings.RATE_LIMIT_BURST = 50

    def call(_: int) -> int:
        try:
            with urllib.request.urlopen(f"{live_server.url}/health", timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(call, range(200)))
    assert statuses.count(200) == 50
    assert statuses.count(429) == 150


@pytest.mark.needs_redis
def test_the_redis_bucket_is_atomic_under_contention() -> None:
    with ThreadPoolExecutor(max_workers=32) as pool:
        decisions = list(
            pool.map(lambda _: ratelimit.take("atomic", rate=0.001, burst=50), range(400))
        )
    assert sum(d.allowed for d in decisions) == 50
