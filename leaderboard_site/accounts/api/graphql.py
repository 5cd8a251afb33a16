"""Accounts on /graphql: me, the caller's API keys, createApiKey and revokeApiKey.

The same serializer and services as /v1/auth/me and /v1/auth/api-keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from leaderboard_site.accounts import services
from leaderboard_site.accounts.api.serializers import ApiKeyCreateSerializer
from leaderboard_site.accounts.models import ApiKey
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import NotFound
from leaderboard_site.graphql.common import validated
from leaderboard_site.graphql.context import require


@strawberry.type
class ApiKeyNode:
    id: strawberry.ID
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyNode:
        return cls(id=strawberry.ID(str(key.pk)), name=key.name, role=key.role, prefix=key.prefix,
                   created_at=key.created_at, last_used_at=key.last_used_at,
                   expires_at=key.expires_at)  # fmt: skip


@strawberry.type(description="The caller, as GET /v1/auth/me.")
class Me:
    username: str
    role: str
    via: str
    hub_username: str | None
    user_id: strawberry.Private[int]

    @strawberry.field(description="Your API keys that are not revoked.")
    def api_keys(self) -> list[ApiKeyNode]:
        keys = ApiKey.objects.filter(user_id=self.user_id, revoked_at__isnull=True)
        return [ApiKeyNode.of(key) for key in keys.order_by("-created_at")]


@strawberry.type
class CreatedApiKey:
    key: str = strawberry.field(description="the secret: shown once, never again")
    api_key: ApiKeyNode


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="Who the caller is (role viewer).")
    def me(self, info: Info) -> Me | None:
        user = require(info, Role.VIEWER)
        principal = info.context.principal
        return Me(username=user.username, role=principal.role, via=principal.via,
                  hub_username=user.hub_username, user_id=user.pk)  # fmt: skip


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="A new API key, as POST /v1/auth/api-keys (role user).")
    def create_api_key(
        self, info: Info, name: str, role: str | None = None, expires_at: datetime | None = None
    ) -> CreatedApiKey | None:
        user = require(info, Role.USER)
        data = validated(ApiKeyCreateSerializer,
                         {"name": name, "role": role, "expires_at": expires_at})  # fmt: skip
        new = services.api_key_create(owner=user, creator_role=info.context.principal.role,
                                      **data)  # fmt: skip
        return CreatedApiKey(key=new.key, api_key=ApiKeyNode.of(new.api_key))

    @strawberry.mutation(description="Revoke an API key, as DELETE /v1/auth/api-keys/{id} "
                         "(role user; your own, admins: anybody's); true when done.")  # fmt: skip
    def revoke_api_key(self, info: Info, id: str) -> bool | None:
        user = require(info, Role.USER)
        keys = ApiKey.objects.filter(revoked_at__isnull=True)
        if info.context.principal.role != Role.ADMIN:
            keys = keys.filter(user=user)
        try:
            key = keys.filter(pk=uuid.UUID(id)).first()
        except ValueError:
            key = None
        if key is None:
            raise NotFound("No such API key.", details={"id": id})
        services.api_key_revoke(api_key=key)
        return True
