"""What a resolver knows of its caller, and the one role check every field makes."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from strawberry.types import Info

from leaderboard_site.accounts.authentication import Principal
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role, at_least
from leaderboard_site.api.errors import Forbidden, Unauthorized


@dataclass
class Context:
    request: HttpRequest
    response: HttpResponse
    principal: Principal | None


def require(info: Info, role: Role) -> User:
    """The caller, who must hold at least `role` (the README's GraphQL table says which)."""
    principal: Principal | None = info.context.principal
    if principal is None:
        raise Unauthorized("Authentication required.")
    if not at_least(principal.role, role):
        raise Forbidden("Your role does not allow this.", details={"required_role": role})
    return principal.user
