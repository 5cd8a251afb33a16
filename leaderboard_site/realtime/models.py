"""Events on their way to the sockets when there is no Redis (the embedded default): web and
worker processes write them here, and each process serving /ws relays the new ones into its
in-memory channel layer (`bridge.py`)."""

from __future__ import annotations

from django.db import models


class RelayedEvent(models.Model):
    groups = models.JSONField()
    message = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.message.get('topic')} #{self.pk}"
