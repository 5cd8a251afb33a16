from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from leaderboard_site.accounts import services
from leaderboard_site.accounts.models import ApiKey, User
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def create_key(client: APIClient, **body: Any) -> Any:
    return client.post("/v1/auth/api-keys", {"name": "ci", **body}, format="json")


def test_a_key_is_shown_once_and_stored_as_a_hash(alice_client: APIClient, alice: Any) -> None:
    response = create_key(alice_client)
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"ltb_[0-9a-f]{32}", body["key"])
    assert {"key", "id", "created_at"} <= set(body) and body["role"] == "user"
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == hashlib.sha256(body["key"].encode()).hexdigest()
    assert body["key"] not in str(ApiKey.objects.filter(pk=body["id"]).values().get())
    assert ApiKey._meta.get_field("key_hash").unique  # found by an index, never a scan

    me = keyed(body["key"]).get("/v1/auth/me")
    assert me.json() == {
        "username": "alice",
        "role": "user",
        "via": "api_key",
        "hub_username": None,
    }
    listed = alice_client.get("/v1/auth/api-keys").json()
    assert [k["id"] for k in listed["items"]] == [body["id"]]
    assert "key" not in listed["items"][0] and "key_hash" not in listed["items"][0]


def test_revoking_a_key_stops_it(alice_client: APIClient) -> None:
    key = create_key(alice_client).json()
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 200  # now looked up recently
    assert alice_client.delete(f"/v1/auth/api-keys/{key['id']}").status_code == 204
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 401
    assert alice_client.get("/v1/auth/api-keys").json()["items"] == []
    assert alice_client.delete(f"/v1/auth/api-keys/{key['id']}").status_code == 404


def test_last_used_is_recorded(alice_client: APIClient) -> None:
    key = create_key(alice_client).json()
    keyed(key["key"]).get("/v1/auth/me")
    assert ApiKey.objects.get(pk=key["id"]).last_used_at is not None


def test_role_defaults_to_the_creators_and_may_not_exceed_it(
    alice_client: APIClient, admin_user: Any
) -> None:
    assert create_key(alice_client, role="viewer").json()["role"] == "viewer"
    assert create_key(alice_client, role="service").json()["role"] == "service"
    refused = create_key(alice_client, role="admin")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert create_key(client_for(admin_user)).json()["role"] == "admin"


def test_a_viewer_key_cannot_write(alice_client: APIClient) -> None:
    key = create_key(alice_client, role="viewer").json()["key"]
    assert keyed(key).get("/v1/auth/me").json()["role"] == "viewer"
    assert create_key(keyed(key)).status_code == 403


def test_an_expired_key_is_refused(alice_client: APIClient) -> None:
    key = create_key(alice_client, expires_at="2999-01-01T00:00:00Z").json()
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 200
    ApiKey.objects.filter(pk=key["id"]).update(expires_at="2020-01-01T00:00:00Z")
    services.forget_principals()
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 401


def test_unknown_key_is_401() -> None:
    response = keyed("ltb_" + "0" * 32).get("/v1/auth/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


def test_bob_cannot_see_or_revoke_alices_keys(
    alice_client: APIClient, bob_client: APIClient
) -> None:
    key = create_key(alice_client).json()
    assert bob_client.get("/v1/auth/api-keys").json()["items"] == []
    assert bob_client.delete(f"/v1/auth/api-keys/{key['id']}").status_code == 404
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 200


def test_unknown_fields_are_ignored_never_assigned(
    alice_client: APIClient, alice: Any, bob: Any
) -> None:
    response = create_key(
        alice_client,
        user=bob.pk,
        user_id=bob.pk,
        is_staff=True,
        status="FINISHED",
        score=100,
        revoked_at=None,
        key_hash="0" * 64,
    )
    assert response.status_code == 201
    stored = ApiKey.objects.get(pk=response.json()["id"])
    assert stored.user == alice and stored.key_hash != "0" * 64
    alice.refresh_from_db()
    assert not alice.is_staff and alice.role == "user"


def test_create_user_and_create_api_key_commands() -> None:
    out = io.StringIO()
    call_command("create_user", "dave", "--role", "viewer", "--password", "pw123456789", stdout=out)
    assert "created with role viewer" in out.getvalue()
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "dave", "--role", "user", stdout=out)
    call_command("create_user", "dave", "--role", "user", "--update", stdout=out)
    assert User.objects.get(username="dave").role == "user"
    assert User.objects.get(username="dave").check_password("pw123456789")

    out = io.StringIO()
    call_command("create_api_key", "dave", "--name", "deploy", stdout=out)
    key = out.getvalue().strip()
    assert keyed(key).get("/v1/auth/me").json()["username"] == "dave"
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "ghost", "--name", "x", stdout=out)
    with pytest.raises(CommandError, match="above"):
        call_command("create_api_key", "dave", "--name", "x", "--role", "admin", stdout=out)


def test_create_user_reads_the_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-from-stdin\n"))
    call_command(
        "create_user", "erin", "--role", "service", "--password-stdin", stdout=io.StringIO()
    )
    assert User.objects.get(username="erin").check_password("s3cret-from-stdin")
    make_user("frank", "viewer")


def test_admins_see_and_revoke_everyones_keys(alice_client: APIClient, admin_user: Any) -> None:
    key = create_key(alice_client).json()
    admin = client_for(admin_user)
    listed = admin.get("/v1/auth/api-keys").json()["items"]
    assert [(k["id"], k["owner"]) for k in listed] == [(key["id"], "alice")]
    assert admin.delete(f"/v1/auth/api-keys/{key['id']}").status_code == 204
    assert keyed(key["key"]).get("/v1/auth/me").status_code == 401


def test_a_key_acts_with_the_lower_of_its_role_and_its_owners(admin_user: Any) -> None:
    """An admin's admin key must not keep admin powers once the owner is demoted."""
    key = create_key(client_for(admin_user), role="admin").json()["key"]
    assert keyed(key).get("/v1/auth/me").json()["role"] == "admin"

    call_command("create_user", "root", "--role", "viewer", "--update", stdout=io.StringIO())

    me = keyed(key).get("/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "viewer"
    assert create_key(keyed(key), role="admin").status_code == 403
    assert keyed(key).get("/v1/completions").status_code == 200  # a viewer may list its own


def test_a_deactivated_or_deleted_owners_keys_are_refused(alice_client: APIClient) -> None:
    key = create_key(alice_client).json()["key"]
    assert keyed(key).get("/v1/auth/me").status_code == 200
    User.objects.filter(username="alice").update(is_active=False)
    from leaderboard_site.accounts.services import forget_principals

    forget_principals()  # another process would see it within PRINCIPAL_CACHE_SECONDS
    assert keyed(key).get("/v1/auth/me").status_code == 401
    User.objects.filter(username="alice").delete()
    forget_principals()
    assert keyed(key).get("/v1/auth/me").status_code == 401
