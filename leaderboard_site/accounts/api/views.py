"""/v1/auth: log in for a JWT; create, list and revoke API keys; who am I."""

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
    TokenSerializer,
)
from leaderboard_site.accounts.authentication import principal_of
from leaderboard_site.accounts.models import ApiKey
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import Unauthorized


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

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
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
