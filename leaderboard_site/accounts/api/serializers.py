"""Request and response shapes of /v1/auth. Unknown fields in a body are ignored."""

from __future__ import annotations

from rest_framework import serializers

from leaderboard_site.accounts.models import ApiKey
from leaderboard_site.accounts.roles import Role


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(
        min_length=8, max_length=1024, trim_whitespace=False, write_only=True,
        help_text="at least 8 characters, and Django's password rules where configured",
    )  # fmt: skip


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="when the key stops working (in the future); null or absent: never",
    )  # fmt: skip


class ApiKeyCreatedSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the secret: shown once, never again")
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    name = serializers.CharField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ApiKeySerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "owner",
            "name",
            "role",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    via = serializers.CharField()
    hub_username = serializers.CharField(allow_null=True)
