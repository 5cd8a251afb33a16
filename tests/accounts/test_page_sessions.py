"""The web pages' session: sign-in and sign-out pages, the account page's API keys, and the
session as a credential of the API (CSRF-checked writes) and of sockets (same origin only)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from leaderboard_site.accounts.authentication import scope_principal
from leaderboard_site.accounts.models import ApiKey
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "pw-" + "x" * 8


@pytest.fixture
def browser(alice: Any) -> Client:
    """A signed-in browser that checks CSRF tokens as a real one is checked."""
    client = Client(enforce_csrf_checks=True)
    client.get("/signin")
    answer = client.post(
        "/signin",
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf(client)},
    )
    assert answer.status_code == 302
    return client


def csrf(client: Client) -> str:
    return str(client.cookies[settings.CSRF_COOKIE_NAME].value)


def test_a_wrong_password_is_a_400_page_that_says_so(alice: Any) -> None:
    answer = Client().post("/signin", {"username": "alice", "password": "nope"})
    assert answer.status_code == 400
    assert b"Wrong username or password" in answer.content


def test_sign_in_goes_back_to_a_local_next_only(alice: Any) -> None:
    local = Client().post("/signin", {"username": "alice", "password": PASSWORD, "next": "/queue"})
    assert local["Location"] == "/queue"
    away = Client().post(
        "/signin", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert away["Location"] == "/"


def test_the_api_reads_as_the_session_user(browser: Client) -> None:
    me = browser.get("/v1/auth/me")
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["via"]) == ("alice", "session")


def test_an_api_write_on_a_session_needs_the_csrf_token(browser: Client) -> None:
    refused = browser.post("/v1/auth/api-keys", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "CSRF_FAILED"
    assert not ApiKey.objects.exists()
    made = browser.post(
        "/v1/auth/api-keys", {"name": "x"}, content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf(browser),
    )  # fmt: skip
    assert made.status_code == 201


def test_a_graphql_mutation_on_a_session_needs_the_csrf_token(browser: Client) -> None:
    mutation = {"query": 'mutation { createApiKey(name: "g") { key } }'}
    refused = browser.post("/graphql", mutation, content_type="application/json")
    assert refused.status_code == 403
    assert not ApiKey.objects.exists()


def test_signing_out_ends_the_api_session_too(browser: Client) -> None:
    browser.post("/signout", {"csrfmiddlewaretoken": csrf(browser)})
    assert browser.get("/v1/auth/me").status_code == 401


def test_a_changed_password_ends_the_session(browser: Client, alice: Any) -> None:
    alice.set_password("another-" + PASSWORD)
    alice.save()
    assert browser.get("/v1/auth/me").status_code == 401


def test_the_account_page_shows_a_new_key_once(browser: Client) -> None:
    made = browser.post("/account", {"name": "laptop", "csrfmiddlewaretoken": csrf(browser)})
    assert made.status_code == 302
    page = browser.get("/account").content.decode()
    key = ApiKey.objects.get(name="laptop")
    assert 'id="new-key">ltb_' in page and key.prefix in page
    assert 'id="new-key"' not in browser.get("/account").content.decode()


def test_a_key_above_the_users_role_is_refused_on_its_field(browser: Client) -> None:
    answer = browser.post(
        "/account", {"name": "k", "role": "admin", "csrfmiddlewaretoken": csrf(browser)}
    )
    assert answer.status_code == 400
    assert b"role-error" in answer.content
    assert not ApiKey.objects.exists()


def test_nobody_revokes_another_users_key(browser: Client) -> None:
    bob = make_user("bob", "user")
    from leaderboard_site.accounts import services

    key = services.api_key_create(owner=bob, name="bobs").api_key
    answer = browser.post(f"/account/keys/{key.pk}/revoke", {"csrfmiddlewaretoken": csrf(browser)})
    assert answer.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def _scope(browser: Client, origin: str) -> dict[str, Any]:
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"cookie", cookie.encode()), (b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "headers": headers, "query_string": b""}


def test_a_socket_from_our_own_pages_is_the_session_user(browser: Client) -> None:
    principal = scope_principal(_scope(browser, "http://testserver"))
    assert principal is not None and (principal.user.username, principal.via) == (
        "alice",
        "session",
    )


@pytest.mark.parametrize("origin", ["https://evil.example", ""])
def test_a_socket_from_elsewhere_does_not_ride_on_the_session(browser: Client, origin: str) -> None:
    assert scope_principal(_scope(browser, origin)) is None
