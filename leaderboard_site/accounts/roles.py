"""Roles, hierarchical: admin > user = service > viewer (service is a user for machines)."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin"
    USER = "user"
    SERVICE = "service"
    VIEWER = "viewer"


RANK = {Role.VIEWER: 1, Role.USER: 2, Role.SERVICE: 2, Role.ADMIN: 3}


def at_least(role: str, required: str) -> bool:
    return RANK[Role(role)] >= RANK[Role(required)]


def lower(first: str, second: str) -> str:
    """The lower of two roles (the first when they rank the same)."""
    return first if RANK[Role(first)] <= RANK[Role(second)] else second
