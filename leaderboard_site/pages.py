"""What every web page's template knows: which of the optional routes are on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: the header's links to /docs and /graphql when enabled."""
    return {"site": {"docs": settings.ENABLE_SWAGGER, "graphql": settings.ENABLE_GRAPHQL}}


def wants_page(request: HttpRequest) -> bool:
    """Whether an error should be a page rather than the JSON envelope: a browser asking for
    HTML, on a path that is not one of the APIs'."""
    api = request.path.startswith(("/api/", "/v1/", "/graphql", "/health", "/metrics", "/ws"))
    return not api and "text/html" in request.headers.get("Accept", "")
