"""GraphQL errors in REST's terms: the code, status and details a REST call would have had."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from leaderboard_site.api.context import current_request_id
from leaderboard_site.api.errors import describe


def caller_error(error: GraphQLError) -> Exception | None:
    """The exception behind an error; None when the document or its variables are wrong
    (graphql-core wraps a bad variable in a GraphQLError of its own)."""
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original


def shaped(error: GraphQLError) -> dict[str, Any]:
    """The error as sent, with `extensions: {code, status, details, request_id, ...}`."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = caller_error(error)
    extra: dict[str, Any] = {}
    details: dict[str, Any]
    if original is None:  # syntax, validation, variables: the request is wrong
        status, code, details = 400, "BAD_REQUEST", {}
    elif (described := describe(original)) is None:  # a bug: logged by the schema, not shown
        formatted["message"] = "Internal server error. The request id identifies it in the logs."
        status, code, details = 500, "INTERNAL_ERROR", {}
    else:
        status, code, formatted["message"], details, extra = described
    formatted["extensions"] = {**formatted.get("extensions", {}), **extra, "code": code,
                               "status": status, "details": details,
                               "request_id": current_request_id()}  # fmt: skip
    return formatted
