"""The GraphQL schema: the service's own fields (version, health) and the apps' types."""

from __future__ import annotations

import logging

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from benchmarks.api.graphql import BenchmarksMutation, BenchmarksQuery
from leaderboard_site.api import health
from leaderboard_site.api.errors import describe

logger = logging.getLogger(__name__)


@strawberry.type
class ServiceQuery:
    @strawberry.field(description="The server's version (anyone).")
    def version(self) -> str:
        return settings.VERSION

    @strawberry.field(description="False when the database is down, as /health's 503 (anyone).")
    def health(self) -> bool:
        return health.overall(health.run_checks()) != "unhealthy"


Query = merge_types("Query", (ServiceQuery, BenchmarksQuery))
Mutation = merge_types("Mutation", (BenchmarksMutation,))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log bugs with their traceback; the caller's mistakes are answered, not logged."""
        for error in errors:
            original = error.original_error
            if original is not None and describe(original) is None:
                logger.error("GraphQL resolver failed: %s", error.message, exc_info=original)


schema = Schema(query=Query, mutation=Mutation)
