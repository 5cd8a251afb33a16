"""POST (or GET, for queries) /graphql; GraphiQL for a browser.

Bad credentials and malformed requests are refused as a whole with the envelope, as on REST.
Errors inside an operation are GraphQL errors (HTTP 200, the fields that worked keep their
data), each with the REST code, status and details in `extensions`.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphql import GraphQLError
from strawberry.django.views import GraphQLView as StrawberryView
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from leaderboard_site.accounts.authentication import resolve
from leaderboard_site.api.context import current_request_id
from leaderboard_site.api.errors import ApiError, describe, error_response
from leaderboard_site.graphql.context import Context


def _shaped(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    described = describe(error.original_error) if error.original_error else None
    details: dict[str, Any]
    if error.original_error is None:  # syntax or validation: the document is wrong
        status, code, details = 400, "BAD_REQUEST", {}
    elif described is None:  # a bug: logged by the schema, not shown
        formatted["message"] = "Internal server error. The request id identifies it in the logs."
        status, code, details = 500, "INTERNAL_ERROR", {}
    else:
        status, code, formatted["message"], details, extra = described
        details = {**details, **extra}
    formatted["extensions"] = {**formatted.get("extensions", {}), "code": code, "status": status,
                               "details": details, "request_id": current_request_id()}  # fmt: skip
    return formatted


# Credentials come in headers only (never cookies), so a cross-site form cannot use them.
@method_decorator(csrf_exempt, name="dispatch")
class GraphQLView(StrawberryView[Context, None]):
    allow_queries_via_get = True

    def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        return Context(request=request, response=response, principal=resolve(request))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return self.run(request=request)
        except ApiError as exc:  # bad credentials
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return error_response(exc.status, exc.message, code=exc.code, details=exc.details,
                                  headers=headers)  # fmt: skip
        except HTTPException as exc:
            return error_response(exc.status_code, exc.reason)

    def process_result(self, request: HttpRequest, result: ExecutionResult) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            response["errors"] = [_shaped(error) for error in result.errors]  # type: ignore[typeddict-item]
        if result.extensions:
            response["extensions"] = result.extensions
        return response
