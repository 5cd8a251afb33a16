"""/v1/auth: log in for a JWT, refresh it, sign it out, change the password; create, list and
revoke API keys; who am I."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard_site.accounts import login_limits, services
from leaderboard_site.accounts.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    LoginSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    TokenSerializer,
)
from leaderboard_site.accounts.authentication import Principal, principal_of
from leaderboard_site.accounts.models import ApiKey
from leaderboard_site.accounts.roles import Role
from leaderboard_site.accounts.tokens import Claims
from leaderboard_site.api.errors import ApiError, Unauthorized
from leaderboard_site.api.schema import example


class LoginView(APIView):
    """POST /v1/auth/login: a JWT for a username and password."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=LoginSerializer, responses=TokenSerializer)
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        login_limits.check(request._request, username)
        try:
            token, expires_at = services.login(**data.validated_data)
        except Unauthorized:
            login_limits.failed(request._request, username)
            raise
        login_limits.succeeded(request._request, username)
        return Response(TokenSerializer({"token": token, "expires_at": expires_at}).data)


def _jwt_of(request: Request) -> tuple[Principal, Claims]:
    """The caller and the JWT it sent; 400 for the other credentials (nothing to refresh or
    sign out: an API key is revoked, a Hugging Face token belongs to the Hub)."""
    principal = principal_of(request)
    assert principal is not None  # HasRole let only authenticated callers in
    if principal.claims is None:
        raise ApiError(
            "Only a JWT (from POST /v1/auth/login) can be refreshed or signed out; revoke an "
            "API key with DELETE /v1/auth/api-keys/{id}.",
            details={"credential": principal.via},
        )
    return principal, principal.claims


class RefreshView(APIView):
    """POST /v1/auth/refresh: a new JWT for the valid one sent, which is signed out."""

    required_roles = {"POST": Role.VIEWER}

    @extend_schema(
        request=None,
        responses=TokenSerializer,
        description="A new JWT (JWT_EXPIRATION from now, with your current role) for the valid "
        "one you send as `Authorization: Bearer`; that one is refused from then on. 400 for "
        "an API key or a Hugging Face token.",
    )
    def post(self, request: Request) -> Response:
        principal, claims = _jwt_of(request)
        token, expires_at = services.token_refresh(user=principal.user, claims=claims)
        return Response(TokenSerializer({"token": token, "expires_at": expires_at}).data)


class LogoutView(APIView):
    """POST /v1/auth/logout: the JWT sent is refused from then on (until its expiry)."""

    required_roles = {"POST": Role.VIEWER}

    @extend_schema(
        request=None,
        responses={204: None},
        description="Sign out the JWT you send: refused from then on, everywhere (a denylist "
        "by its `jti` until it expires). 400 for an API key or a Hugging Face token.",
    )
    def post(self, request: Request) -> Response:
        principal, claims = _jwt_of(request)
        services.token_revoke(user=principal.user, claims=claims)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordView(APIView):
    """POST /v1/auth/password: change your password (password accounts only)."""

    required_roles = {"POST": Role.VIEWER}

    @extend_schema(
        request=PasswordChangeSerializer,
        responses=TokenSerializer,
        description="Change your password: `old_password` must be right (wrong ones count as "
        "failed logins), `new_password` must pass the password rules. Every JWT issued "
        "before is refused from then on; the answer is a new one. 403 for an account that "
        "signs in with a Hugging Face token (it has no password).",
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        assert principal is not None
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = principal.user.username
        login_limits.check(request._request, username)
        try:
            token, expires_at = services.password_change(user=principal.user,
                                                         **data.validated_data)  # fmt: skip
        except ApiError as exc:
            if exc.details.get("fields", {}).get("old_password"):
                login_limits.failed(request._request, username)
            raise
        return Response(TokenSerializer({"token": token, "expires_at": expires_at}).data)


class MeView(APIView):
    """GET /v1/auth/me: the caller's identity and role."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        assert principal is not None  # HasRole let only authenticated callers in
        user = principal.user
        body = {"username": user.username, "role": principal.role, "via": principal.via,
                "hub_username": user.hub_username}  # fmt: skip
        return Response(MeSerializer(body).data)


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiKey]
):
    """/v1/auth/api-keys: the caller's own keys; admins see and revoke everyone's.

    Secrets are never shown again after creation.
    """

    serializer_class = ApiKeySerializer
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[ApiKey]:
        principal = principal_of(self.request)
        if principal is None:  # only the schema generator gets here unauthenticated
            return ApiKey.objects.none()
        keys = ApiKey.objects.filter(revoked_at__isnull=True).select_related("user")
        return keys if principal.role == Role.ADMIN else keys.filter(user=principal.user)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        examples=example({"name": "ci", "role": "viewer"}),
    )
    def create(self, request: Request) -> Response:
        principal = principal_of(request)
        assert principal is not None
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.api_key_create(
            owner=principal.user, creator_role=principal.role, **data.validated_data
        )
        key = new.api_key
        body = {"key": new.key, "id": key.id, "created_at": key.created_at, "name": key.name,
                "role": key.role, "expires_at": key.expires_at}  # fmt: skip
        return Response(ApiKeyCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        services.api_key_revoke(api_key=instance)
