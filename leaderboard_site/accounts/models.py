"""Users with a role, their API keys, and usage rows behind quotas."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from leaderboard_site.accounts.roles import Role


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    # The Hugging Face account this user signs in with (Bearer hf_...), when linked.
    hub_username = models.CharField(max_length=100, unique=True, null=True, blank=True)
    # JWTs issued before this second are refused (set by a password change).
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)

    @property
    def is_maintainer(self) -> bool:
        return self.role == Role.ADMIN or self.is_staff


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)


class ApiKey(models.Model):
    """An API key: the secret is shown once; only its SHA-256 is stored (indexed, unique)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="first characters, to tell keys apart"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RevokedToken(models.Model):
    """A JWT signed out before it expired (POST /v1/auth/logout, or replaced by a refresh):
    refused until its expiry, then forgotten."""

    jti = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.jti} (until {self.expires_at:%Y-%m-%d %H:%M})"


class Usage(models.Model):
    """One use of a quota-limited action (e.g. a submission), counted over a sliding window."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="usages")
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "kind", "created_at"], name="usage_window")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"
