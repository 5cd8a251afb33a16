from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def carol() -> Any:
    return make_user("carol", "user", password=PASSWORD)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def login(client: APIClient, username: str = "carol", password: str = PASSWORD) -> Any:
    return client.post(
        "/v1/auth/login", {"username": username, "password": password}, format="json"
    )


def test_login_gives_a_jwt_that_authenticates(anon: APIClient, carol: Any) -> None:
    response = login(anon)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    claims = jwt.decode(body["token"], settings.JWT_SECRET, algorithms=["HS256"])
    assert {"sub", "role", "iat", "exp", "jti"} <= set(claims)
    assert (claims["sub"], claims["role"]) == ("carol", "user")
    assert claims["exp"] - claims["iat"] == settings.JWT_EXPIRATION
    me = bearer(body["token"]).get("/v1/auth/me")
    assert me.status_code == 200
    assert me.json() == {"username": "carol", "role": "user", "via": "jwt", "hub_username": None}


@pytest.mark.parametrize(("username", "password"), [("carol", "wrong"), ("nobody", PASSWORD)])
def test_bad_credentials_are_401(anon: APIClient, carol: Any, username: str, password: str) -> None:
    response = login(anon, username, password)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_login_validates_its_body(anon: APIClient) -> None:
    response = anon.post("/v1/auth/login", {"username": "carol"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["details"]["fields"]
    assert anon.post("/v1/auth/login", "{nope", content_type="application/json").status_code == 400


def _token(secret: str = "", algorithm: str = "HS256", **overrides: Any) -> str:
    now = dt.datetime.now(tz=dt.UTC)
    claims = {
        "sub": "carol",
        "role": "user",
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(hours=1)).timestamp()),
        "jti": "x",
    }
    claims.update(overrides)
    return jwt.encode(claims, secret or settings.JWT_SECRET, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(exp=1_000_000), id="expired"),
        pytest.param(lambda: _token(secret="another-key-entirely-32-bytes-long!!"), id="wrong-key"),
        pytest.param(lambda: _token()[:-3] + "abc", id="tampered"),
        pytest.param(
            lambda: jwt.encode({"sub": "carol", "role": "admin"}, None, algorithm="none"),
            id="alg-none",
        ),
        pytest.param(
            lambda: _token(jti=None) and _token().rsplit(".", 1)[0] + ".", id="no-signature"
        ),
        pytest.param(lambda: _token(sub="ghost"), id="unknown-user"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_401(carol: Any, token: Any) -> None:
    response = bearer(token()).get("/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_token_role_is_not_trusted_over_the_database(carol: Any) -> None:
    """A token minted with role admin for a user still acts with the user's real role."""
    response = bearer(_token(role="admin")).get("/v1/auth/me")
    assert response.json()["role"] == "user"


def test_a_disabled_user_cannot_use_an_old_token(carol: Any) -> None:
    token = _token()
    carol.is_active = False
    carol.save()
    assert bearer(token).get("/v1/auth/me").status_code == 401


def test_a_non_bearer_scheme_is_401(carol: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic Y2Fyb2w6cGFzcw==")
    assert client.get("/v1/auth/me").status_code == 401
