"""Authorization: Bearer hf_... verified against the (local) Hub's whoami-v2."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from leaderboard_site.accounts.models import User
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def hf(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def whoami_calls(hub: Any) -> int:
    return sum(1 for _, path in hub.requests if path == "/api/whoami-v2")


def test_a_hub_token_maps_to_a_local_user_created_on_first_use(hub: Any) -> None:
    hub.add_token("hf_grace_token", "grace")
    response = hf("hf_grace_token").get("/v1/auth/me")
    assert response.status_code == 200
    assert response.json() == {
        "username": "grace",
        "role": "user",
        "via": "hub",
        "hub_username": "grace",
    }
    user = User.objects.get(username="grace")
    assert user.hub_username == "grace" and not user.has_usable_password()


def test_the_answer_is_cached(hub: Any) -> None:
    hub.add_token("hf_grace_token", "grace")
    for _ in range(3):
        assert hf("hf_grace_token").get("/v1/auth/me").status_code == 200
    assert whoami_calls(hub) == 1


def test_a_token_the_hub_refuses_is_401(hub: Any) -> None:
    response = hf("hf_forged").get("/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_password_account_is_not_taken_over(hub: Any) -> None:
    make_user("grace", "admin")
    hub.add_token("hf_grace_token", "grace")
    response = hf("hf_grace_token").get("/v1/auth/me")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    linked = User.objects.get(username="grace")
    linked.hub_username = "grace"  # what an admin does to link them
    linked.save()
    assert hf("hf_grace_token").get("/v1/auth/me").json()["role"] == "admin"


def test_the_hub_down_is_503_not_401(hub: Any) -> None:
    hub.add_token("hf_grace_token", "grace")
    hub.fail_next(20, status=503, path_prefix="/api/whoami")
    response = hf("hf_grace_token").get("/v1/auth/me")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_the_hub_unreachable_is_503(settings: Any) -> None:
    settings.HF_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    response = hf("hf_any").get("/v1/auth/me")
    assert response.status_code == 503
