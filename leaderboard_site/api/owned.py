"""Things people own, as the API shows them: to their owner (admins: everybody's)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from leaderboard_site.accounts.authentication import principal_of
from leaderboard_site.accounts.roles import Role


class OwnerScoped:
    """A viewset's `get_queryset` for `model` rows with an `owner`: the caller's own, newest
    first (admins: everybody's), so that somebody else's is 404."""

    model: type[Model]
    request: Any

    def get_queryset(self) -> QuerySet[Any]:
        principal = principal_of(self.request)
        queryset = self.model._default_manager.order_by("-created_at")
        if principal is None or principal.role != Role.ADMIN:
            queryset = queryset.filter(owner=principal.user if principal else None)
        return queryset
