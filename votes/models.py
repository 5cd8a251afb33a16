"""Votes: one per person, model, revision and precision; the pending queue is ordered by them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class VoteType(models.TextChoices):
    UP = "up"
    DOWN = "down"


class Vote(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes"
    )
    model_name = models.CharField(max_length=200)
    revision = models.CharField(max_length=64)
    precision = models.CharField(max_length=16)
    vote_type = models.CharField(max_length=4, choices=VoteType.choices)
    # A maintainer voided it: it stops counting, the row stays.
    voided = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "model_name", "revision", "precision"],
                condition=Q(voided=False),
                name="one_vote_per_person",
            )
        ]
        indexes = [
            # The counting votes of a model: counts and scores read only this index.
            models.Index(
                fields=["model_name", "revision", "precision", "vote_type"],
                condition=Q(voided=False),
                name="vote_counting",
            ),
            models.Index(fields=["user", "-updated_at"], name="vote_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.vote_type} {self.model_name}@{self.revision[:7]}"


class KnownEvent(models.Model):
    """A line of the mirrored votes_data.jsonl we already hold: ours, recorded when a push is
    about to publish it, or imported by a pull. A pull applies only the lines not known here."""

    digest = models.CharField(max_length=64, unique=True)  # sha256 of the line
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]
