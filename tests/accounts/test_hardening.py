from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_user, manage


def test_deploy_checks_pass_in_production(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        ENVIRONMENT="production",
        SECRET_KEY="a-production-secret-key-" + "x" * 40,
        JWT_SECRET="a-production-jwt-secret-" + "y" * 40,
        ALLOWED_HOSTS="leaderboard.example.org",
        VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_requires_the_jwt_secret(tmp_path: Path) -> None:
    result = manage("check", ENVIRONMENT="production", SECRET_KEY="s" * 60, VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr.splitlines()[-1]


@pytest.mark.django_db
def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    make_user("logged", "user", password="pw-secret-in-body")
    with caplog.at_level(logging.DEBUG):
        client = APIClient()
        token = client.post(
            "/v1/auth/login", {"username": "logged", "password": "pw-secret-in-body"}, format="json"
        ).json()["token"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        key = client.post("/v1/auth/api-keys", {"name": "k"}, format="json").json()["key"]
        keyed = APIClient()
        keyed.credentials(HTTP_X_API_KEY=key)
        keyed.get("/v1/auth/me")
        bad = APIClient()
        bad.credentials(HTTP_AUTHORIZATION=f"Bearer {token}tampered")
        bad.get("/v1/auth/me")
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records
    for secret in (token, key, "pw-secret-in-body"):
        assert secret not in text


@pytest.mark.django_db
def test_passwords_are_hashed_by_django(alice: Any) -> None:
    make_user("hashed", "user", password="plain-text-pw")
    from leaderboard_site.accounts.models import User

    stored = User.objects.get(username="hashed").password
    assert "plain-text-pw" not in stored
    assert "$" in stored
