"""Role checks: each view names the lowest role per method; safe methods default to viewer."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from leaderboard_site.accounts.authentication import principal_of
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role, at_least
from leaderboard_site.api.errors import Forbidden, Unauthorized


def required_role(view: Any, method: str) -> str:
    roles: dict[str, str] = getattr(view, "required_roles", {})
    if method in roles:
        return roles[method]
    return Role.VIEWER if method in SAFE_METHODS else Role.USER


class HasRole(BasePermission):
    """Authenticated, with at least the role the view requires for this method."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = principal_of(request)
        if principal is None:
            return False  # DRF answers 401: not authenticated
        return at_least(principal.role, required_role(view, request.method or "GET"))


def acting_user(request: Request, claimed: str | None) -> User:
    """The caller, who may name themselves in a `user_id` field (as the Open LLM Leaderboard API
    allows) but nobody else."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthorized("Authentication required.")
    user = principal.user
    if claimed and claimed not in {user.username, user.hub_username}:
        raise Forbidden(
            "user_id must be your own username: you may not act for somebody else.",
            details={"user_id": claimed, "you": user.username},
        )
    return user
