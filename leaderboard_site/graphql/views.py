"""POST (or GET, for queries) /graphql; GraphiQL for a browser.

Bad credentials and malformed requests are refused as a whole with the envelope, as on REST.
Errors inside an operation are GraphQL errors (HTTP 200, the fields that worked keep their
data), each with the REST code, status and details in `extensions`.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView as StrawberryView
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from leaderboard_site.accounts.authentication import enforce_csrf, resolve
from leaderboard_site.api.errors import ApiError, error_response, exception_response
from leaderboard_site.api.input import loads
from leaderboard_site.graphql.context import Context
from leaderboard_site.graphql.errors import shaped

ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_django_default = DjangoJSONEncoder().default


# Credentials come in headers only (never cookies), so a cross-site form cannot use them.
@method_decorator(csrf_exempt, name="dispatch")
class GraphQLView(StrawberryView[Context, None]):
    allow_queries_via_get = True

    def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        principal = resolve(request)
        enforce_csrf(request, principal)
        return Context(request=request, response=response, principal=principal)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return self.run(request=request)
        except ApiError as exc:  # bad credentials, or the Hub down while checking a token
            return exception_response(exc)
        except HTTPException as exc:
            return error_response(exc.status_code, exc.reason)

    def decode_json(self, data: str | bytes) -> object:
        value = loads(data, "request")  # the input rules (no NUL, bounded nesting): ApiError
        if not isinstance(value, dict | list):  # a list is a batch: refused as such
            raise HTTPException(400, "Expected a JSON object {query, variables?, operationName?}.")
        return value

    def encode_json(self, data: object) -> str | bytes:
        """orjson: a page of full rows is ~100 KB of JSON, which the standard library's encoder
        took ~1.5 ms to write. What orjson cannot write itself goes to Django's encoder, as
        before (datetimes included, for the same text)."""
        try:
            return orjson.dumps(data, default=_django_default, option=ORJSON_OPTIONS)
        except orjson.JSONEncodeError:  # an integer past 64 bits, say: the standard library's
            return super().encode_json(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL for browsers (they ask for text/html), not for `*/*` (curl and scripts)."""
        browser = "text/html" in request.headers.get("accept", "")
        return settings.ENABLE_GRAPHIQL and browser and super().should_render_graphql_ide(request)

    def process_result(self, request: HttpRequest, result: ExecutionResult) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            response["errors"] = [shaped(error) for error in result.errors]  # type: ignore[typeddict-item]
        if result.extensions:
            response["extensions"] = result.extensions
        return response
