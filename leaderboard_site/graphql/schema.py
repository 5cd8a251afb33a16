"""The GraphQL schema: the service's own fields (version, health) and the apps' types."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError, OperationDefinitionNode, OperationType, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperation

from benchmarks.api.graphql import BenchmarksMutation, BenchmarksQuery
from leaderboard.api.graphql import LeaderboardQuery
from leaderboard_site.accounts.api.graphql import AccountsMutation, AccountsQuery
from leaderboard_site.api import health
from leaderboard_site.api.errors import describe
from leaderboard_site.graphql.cost import CostLimiter
from leaderboard_site.graphql.documents import DocumentCache
from leaderboard_site.graphql.errors import caller_error
from leaderboard_site.graphql.execution import PlainExecutionContext
from leaderboard_site.graphql.subscriptions import Subscription
from submissions.api.graphql import SubmissionsMutation, SubmissionsQuery
from votes.api.graphql import VotesMutation, VotesQuery

logger = logging.getLogger(__name__)


@strawberry.type
class ServiceQuery:
    @strawberry.field(description="The server's version (anyone).")
    def version(self) -> str:
        return settings.VERSION

    @strawberry.field(description="False when the database is down, as /health's 503 (anyone).")
    def health(self) -> bool:
        return health.overall(health.run_checks()) != "unhealthy"


Query = merge_types(
    "Query",
    (ServiceQuery, LeaderboardQuery, SubmissionsQuery, VotesQuery, BenchmarksQuery, AccountsQuery),
)
Mutation = merge_types(
    "Mutation", (SubmissionsMutation, VotesMutation, BenchmarksMutation, AccountsMutation)
)


class OneMutationPerRequest(ValidationRule):
    """A mutation may change one thing: REST's write limit counts requests, so a document of
    many aliased createCompletion fields would otherwise be many paid calls for one token."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        selections = node.selection_set.selections
        if node.operation == OperationType.MUTATION and len(selections) > 1:
            self.report_error(
                GraphQLError("One mutation field per request; send one request each.", node)
            )


# Bounds on a document's size and shape, so one request cannot cost more than a few REST calls
# (factories: strawberry makes each extension afresh per request).
LIMITS = [
    lambda: MaxTokensLimiter(max_token_count=2000),
    lambda: MaxAliasesLimiter(max_alias_count=15),
    lambda: QueryDepthLimiter(max_depth=8),
    lambda: AddValidationRules([OneMutationPerRequest]),
    CostLimiter,
    DocumentCache,  # after the rules above: it keeps what they passed
]


class Schema(strawberry.Schema):
    def execute_sync(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """HTTP's execution (the view's): subscriptions are served on the socket only, so one
        sent by HTTP is refused as an operation type the method does not allow (400)."""
        allowed = kwargs.get("allowed_operation_types") or DEFAULT_ALLOWED_OPERATION_TYPES
        kwargs["allowed_operation_types"] = set(allowed) - {StrawberryOperation.SUBSCRIPTION}
        return super().execute_sync(*args, **kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log bugs with their traceback; the caller's mistakes are answered, not logged."""
        for error in errors:
            original = caller_error(error)
            if original is not None and describe(original) is None:
                logger.error("GraphQL resolver failed: %s", error.message, exc_info=original)


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=LIMITS,
    execution_context_class=PlainExecutionContext,
)
