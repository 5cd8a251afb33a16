"""Sessions: refreshing a JWT, signing it out (a denylist by jti), changing a password, and API
keys that expire."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from leaderboard_site.accounts import denylist, services, tokens
from leaderboard_site.accounts.models import ApiKey, RevokedToken, User
from leaderboard_site.accounts.tasks import revoked_tokens_purge
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "pw-" + "x" * 8


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def login(username: str = "alice", password: str = PASSWORD) -> str:
    response = APIClient().post(
        "/v1/auth/login", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


# --- logout -------------------------------------------------------------------------------------
def test_a_signed_out_token_is_refused_from_then_on(alice: Any) -> None:
    token, other = login(), login()
    client = bearer(token)
    assert client.get("/v1/auth/me").status_code == 200  # the user is now in `recent`
    assert client.post("/v1/auth/logout").status_code == 204
    refused = client.get("/v1/auth/me")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert "signed out" in refused.json()["error"]["message"]
    assert client.post("/v1/auth/logout").status_code == 401
    assert bearer(other).get("/v1/auth/me").status_code == 200  # only that token
    assert RevokedToken.objects.get().jti == tokens.verify(token).jti


def test_graphql_refuses_a_signed_out_token_too(alice: Any) -> None:
    token = login()
    bearer(token).post("/v1/auth/logout")
    response = bearer(token).post("/graphql", {"query": "{ plugins { name } }"}, format="json")
    assert response.status_code == 401


def test_the_denylist_survives_a_flushed_cache(alice: Any) -> None:
    """The cache's copy is reloaded from the database when it was lost (a Redis restart)."""
    token = login()
    bearer(token).post("/v1/auth/logout")
    cache.clear()
    assert bearer(token).get("/v1/auth/me").status_code == 401
    assert cache.get(denylist.LOADED) is not None
    assert bearer(login()).get("/v1/auth/me").status_code == 200


def test_a_refreshed_or_signed_out_token_is_refused_in_other_processes(alice: Any) -> None:
    """Another process's `recent` (simulated: filled, never cleared) does not let it through:
    the denylist is read on every request."""
    from leaderboard_site.accounts.authentication import recent

    token = login()
    assert bearer(token).get("/v1/auth/me").status_code == 200
    claims = tokens.verify(token)
    user = recent.get("user", "alice")
    assert user is not None
    services.token_revoke(user=user, claims=claims)  # as another process would
    assert recent.get("user", "alice") is not None
    assert bearer(token).get("/v1/auth/me").status_code == 401


def test_expired_rows_are_purged(alice: Any) -> None:
    past = timezone.now() - dt.timedelta(minutes=1)
    RevokedToken.objects.create(jti="old", user=alice, expires_at=past)
    RevokedToken.objects.create(jti="live", user=alice, expires_at=past + dt.timedelta(hours=1))
    assert revoked_tokens_purge() == "1 expired signed-out tokens forgotten"
    assert list(RevokedToken.objects.values_list("jti", flat=True)) == ["live"]


# --- refresh ------------------------------------------------------------------------------------
def test_refresh_gives_a_new_token_and_retires_the_old(alice: Any) -> None:
    token = login()
    response = bearer(token).post("/v1/auth/refresh")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"} and body["token"] != token
    new = tokens.verify(body["token"])
    assert new.sub == "alice" and new.jti != tokens.verify(token).jti
    assert bearer(body["token"]).get("/v1/auth/me").status_code == 200
    assert bearer(token).get("/v1/auth/me").status_code == 401  # rotated out
    assert bearer(token).post("/v1/auth/refresh").status_code == 401


def test_refresh_carries_the_current_role(alice: Any) -> None:
    token = login()
    services.user_create(username="alice", role="viewer", update=True)
    refreshed = bearer(token).post("/v1/auth/refresh").json()["token"]
    assert tokens.verify(refreshed).role == "viewer"


def test_an_expired_token_cannot_be_refreshed(alice: Any, settings: Any) -> None:
    import jwt

    now = dt.datetime.now(tz=dt.UTC)
    payload = {"sub": "alice", "role": "user", "iat": int(now.timestamp()) - 7200,
               "exp": int(now.timestamp()) - 3600, "jti": "x" * 32}  # fmt: skip
    expired = jwt.encode(payload, settings.JWT_SECRET, algorithm="HS256")
    assert bearer(expired).post("/v1/auth/refresh").status_code == 401


def test_api_keys_are_neither_refreshed_nor_signed_out(alice: Any) -> None:
    key = services.api_key_create(owner=alice, name="k").key
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    for path in ("/v1/auth/refresh", "/v1/auth/logout"):
        response = client.post(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["details"] == {"credential": "api_key"}
    assert client.get("/v1/auth/me").status_code == 200


def test_anonymous_callers_get_401() -> None:
    for path in ("/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/password"):
        assert APIClient().post(path).status_code == 401, path


# --- password change ----------------------------------------------------------------------------
NEW = "a-much-better-passphrase"


def change(client: APIClient, old: str = PASSWORD, new: str = NEW) -> Any:
    body = {"old_password": old, "new_password": new}
    return client.post("/v1/auth/password", body, format="json")


def test_change_your_password(alice: Any) -> None:
    token = login()
    response = change(bearer(token))
    assert response.status_code == 200, response.content
    fresh = response.json()["token"]
    assert bearer(fresh).get("/v1/auth/me").status_code == 200
    login(password=NEW)
    bad = APIClient().post("/v1/auth/login", {"username": "alice", "password": PASSWORD},
                           format="json")  # fmt: skip
    assert bad.status_code == 401


def test_a_password_change_ends_the_older_sessions(alice: Any) -> None:
    older = login()
    User.objects.filter(pk=alice.pk).update(
        tokens_valid_after=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )  # as a change a second after the token was issued
    services.forget_principals()
    refused = bearer(older).get("/v1/auth/me")
    assert refused.status_code == 401 and "password changed" in refused.json()["error"]["message"]


def test_the_current_password_must_be_right(alice: Any) -> None:
    response = change(bearer(login()), old="not-my-password")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"old_password": ["wrong password"]}
    login()  # unchanged


def test_wrong_current_passwords_count_as_failed_logins(alice: Any, settings: Any) -> None:
    settings.RATE_LIMIT_ENABLED = True
    settings.LOGIN_RATE = "3/m"
    client = bearer(tokens.issue(username="alice", role="user")[0])
    for _ in range(3):
        assert change(client, old="guess").status_code == 400
    limited = change(client, old="guess")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"


def test_the_new_password_must_pass_the_rules(alice: Any, settings: Any) -> None:
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
         "OPTIONS": {"min_length": 12}},
    ]  # fmt: skip
    response = change(bearer(login()), new="short")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["new_password"]
    assert change(bearer(login()), new="", old=PASSWORD).status_code == 400  # blank
    seven = change(bearer(login()), new="x" * 7)
    assert seven.status_code == 400 and "new_password" in seven.json()["error"]["details"]["fields"]


def test_hub_token_users_have_no_password_to_change(db: Any) -> None:
    user = services.hub_user_resolve(hub_username="hubby")
    token, _ = tokens.issue(username=user.username, role=user.role)
    response = change(bearer(token), old="anything")
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"reason": "no_password"}


# --- API keys that expire -----------------------------------------------------------------------
def test_a_key_stops_working_at_its_expiry(alice: Any, alice_client: APIClient) -> None:
    soon = timezone.now() + dt.timedelta(hours=1)
    created = alice_client.post(
        "/v1/auth/api-keys", {"name": "ci", "expires_at": soon.isoformat()}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["expires_at"] is not None
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=created.json()["key"])
    assert client.get("/v1/auth/me").status_code == 200  # now held in `recent`
    ApiKey.objects.filter(pk=created.json()["id"]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    recent_key = ApiKey.objects.get(pk=created.json()["id"])
    from leaderboard_site.accounts.authentication import recent

    recent.put("api_key", recent_key.key_hash, recent_key)  # the expiry is read even from there
    assert client.get("/v1/auth/me").status_code == 401


def test_a_key_cannot_be_created_expired(alice_client: APIClient) -> None:
    response = alice_client.post(
        "/v1/auth/api-keys", {"name": "old", "expires_at": "2020-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"expires_at": ["in the past"]}
    assert not ApiKey.objects.exists()


def test_create_api_key_command_takes_an_expiry(alice: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_key", "alice", "--name", "nightly", "--expires-days", "7", stdout=out)
    key = ApiKey.objects.get(name="nightly")
    assert out.getvalue().strip().startswith("ltb_")
    assert key.expires_at is not None
    assert dt.timedelta(days=6.9) < key.expires_at - timezone.now() < dt.timedelta(days=7.1)


def test_make_user_password_is_the_tests_default() -> None:
    assert make_user("carol", "viewer").check_password(PASSWORD)


def test_the_admin_refuses_an_expiry_in_the_past(alice: Any, admin_user: Any) -> None:
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    form = {"user": alice.pk, "name": "ops", "role": "viewer"}
    past = {**form, "expires_at_0": "2020-01-01", "expires_at_1": "00:00:00"}
    refused = browser.post("/admin/accounts/apikey/add/", past)
    assert refused.status_code == 200 and b"must be in the future" in refused.content
    assert not ApiKey.objects.exists()
    later = timezone.now() + dt.timedelta(days=30)
    future = {**form, "expires_at_0": f"{later:%Y-%m-%d}", "expires_at_1": "00:00:00"}
    assert browser.post("/admin/accounts/apikey/add/", future).status_code == 302
    assert ApiKey.objects.get().expires_at is not None
