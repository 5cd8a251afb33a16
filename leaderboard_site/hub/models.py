"""The mirror's outbox: changes waiting to be published to the Hub datasets."""

from __future__ import annotations

from django.db import models


class Operation(models.TextChoices):
    PUT = "put"  # the file's whole new content
    APPEND = "append"  # lines to add at the end of the file
    DELETE = "delete"
    REGENERATE = "regenerate"  # rebuild the whole file from the database at push time


class MirrorChange(models.Model):
    """One change to one file of a dataset, written in the same transaction as the change itself.

    A push turns every pending row of a dataset into one commit and deletes the rows it published
    only after the commit succeeded.
    """

    dataset = models.CharField(max_length=64)
    path = models.CharField(max_length=500)
    operation = models.CharField(max_length=10, choices=Operation.choices)
    content = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "id"], name="mirror_change_dataset")]

    def __str__(self) -> str:
        return f"{self.operation} {self.dataset}/{self.path}"
