"""The API layer's own rows: the answers kept for `Idempotency-Key` (see idempotency.py)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One caller's key: claimed before the work (`status_code` null while it runs), then the
    answer it got, replayed for 24 hours to the same request."""

    caller = models.CharField(max_length=64)  # "user:<id>" or "key:<id>" (an API key's own)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # SHA-256 of method, path and body
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=255, blank=True)
    body = models.BinaryField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_caller_key")
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
