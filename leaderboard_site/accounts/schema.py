"""OpenAPI: the three kinds of credentials, as security schemes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PrincipalAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "leaderboard_site.accounts.authentication.PrincipalAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        """Either scheme: one requirement object each (one object holding both would mean
        "both required")."""
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT from POST /v1/auth/login, or a Hugging Face token (hf_...)",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
