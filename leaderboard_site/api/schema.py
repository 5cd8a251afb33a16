"""The OpenAPI schema's truths that hold for every operation, stated once.

- Security: the two schemes are alternatives (one requirement object each), and an operation an
  anonymous caller may use also lists the empty requirement.
- Errors: every operation documents the error envelope under the statuses it can answer. Some
  hold for every route (400: a malformed query string or NUL byte is refused on any route; 401:
  bad credentials are refused even where none are needed; 429: the rate limit; 503: the Hub
  cannot verify a Hugging Face token, or the service is down), the others follow from the
  operation (403 when it needs a role, 404 with path parameters, 413 and 415 with a body).
  Statuses only a view knows about (409, 422, 502, 504) it declares with `errors(...)`.
- Every response carries `X-Request-ID`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.request import Request

from leaderboard_site.api.errors import CODES_BY_STATUS

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error format of every endpoint.",
    "required": ["error", "request_id", "timestamp", "detail"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {
                    "type": "string",
                    "pattern": "^[A-Z][A-Z_]*$",
                    "description": ", ".join(
                        f"{code} ({status})" for status, code in CODES_BY_STATUS.items()
                    )
                    + "; PLUGIN_ERROR (422), PLUGIN_TIMEOUT (504), IN_PROGRESS (409), "
                    "IDEMPOTENCY_KEY_REUSED (422).",
                },
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "What went wrong where: `fields` for invalid fields, "
                    "`reason` for a refused submission.",
                },
                "retry_after": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Seconds to wait (429), as in Retry-After.",
                },
            },
        },
        "request_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "detail": {"type": "string", "description": "The message again, at the top level."},
    },
}

REQUEST_ID_HEADER: dict[str, Any] = {
    "schema": {"type": "string"},
    "required": True,
    "description": "The request's id: yours when you sent a sane one, else a new UUID.",
}

# status -> (component name, description)
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Invalid input: the fields at fault are in `error.details`."),
    401: (
        "Unauthorized",
        "Credentials are missing where needed, or are invalid (bad "
        "credentials are refused on every route, even where none are needed).",
    ),
    403: ("Forbidden", "Your role does not allow this, or it is somebody else's."),
    404: ("NotFound", "No such resource (or not yours)."),
    409: ("Conflict", "The request conflicts with the current state."),
    413: ("PayloadTooLarge", "The request body is too large."),
    415: ("UnsupportedMediaType", "The request body's Content-Type is not accepted."),
    422: (
        "PluginError",
        "The evaluator plugin raised an error (PLUGIN_ERROR), or the Idempotency-Key was used "
        "for another request (IDEMPOTENCY_KEY_REUSED).",
    ),
    429: ("RateLimitExceeded", "Over a rate limit or quota; see Retry-After."),
    502: ("ProviderError", "The model provider (or the Hub) failed."),
    503: (
        "ServiceUnavailable",
        "A service this request needs (the database, the Hub) is unavailable; try again later.",
    ),
    504: ("PluginTimeout", "The evaluator plugin ran past PLUGIN_TIMEOUT (PLUGIN_TIMEOUT)."),
}

EVERY_OPERATION = (400, 401, 429, 503)
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "description": "Your key for this request (1 to 255 visible ASCII characters): the same "
    "key with the same method, path and body within 24 h gets the first answer again "
    "(`Idempotent-Replayed: true`) without the work being done twice; 409 IN_PROGRESS while "
    "the first still runs, 422 IDEMPOTENCY_KEY_REUSED for another request. Per caller; "
    "ignored for anonymous callers; streamed answers are not kept.",
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


# The parts of a Hub repo id (`namespace/name`) as the Hub allows them (and the API checks them,
# leaderboard_site.hub.client.check_repo_id): ASCII letters, digits, `_`, `-`, `.`, 1 to 96 of
# them, neither starting nor ending with `-` or `.`, no `--` or `..`; a name not ending in `.git`.
HUB_NAMESPACE = r"^(?!.*(?:--|\.\.))[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$"
HUB_NAME = r"^(?!.*\.git$)" + HUB_NAMESPACE[1:]


def hub_repo_parameters(namespace: str, name: str | None = None) -> list[OpenApiParameter]:
    """The path parameters holding a Hub repo id's namespace (and name), with their patterns."""
    parts = [(namespace, HUB_NAMESPACE, "the namespace (organization or user) of a Hub repo id")]
    if name is not None:
        parts.append((name, HUB_NAME, "the name of a Hub repo id"))
    return [
        OpenApiParameter(part, str, OpenApiParameter.PATH, pattern=pattern, description=text)
        for part, pattern, text in parts
    ]


def sse_event(data: str) -> dict[str, Any]:
    """One server-sent event of a text/event-stream response (OpenAPI before 3.2 describes the
    stream by its events); `data` says what the data lines hold."""
    return {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string"},
            "data": {"type": "string", "description": data},
            "id": {"type": "string"},
            "retry": {"type": "integer"},
        },
    }


def example(value: Any) -> list[OpenApiExample]:
    """A request body that works, for `@extend_schema(examples=...)`: shown in the docs, and sent
    by schemathesis' examples phase, so that its success answer is checked too."""
    return [OpenApiExample("example", value=value, request_only=True)]


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error statuses only the view knows it answers, for `@extend_schema(responses=...)`."""
    return {status: OpenApiResponse(ERROR_REF) for status in statuses}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema with the truths above (REST_FRAMEWORK's schema class)."""

    def get_auth(self) -> list[dict[str, Any]]:
        requirements = [r for r in super().get_auth() if r]
        if self._anonymous_allowed():
            requirements.append({})
        return requirements

    def _anonymous_allowed(self) -> bool:
        """Whether the view's own permissions let a caller without credentials in."""
        caller = cast(Request, SimpleNamespace(method=self.method, auth=None, user=None))
        try:
            return all(p.has_permission(caller, self.view) for p in self.view.get_permissions())
        except Exception:  # a permission that needs more than this: not for anonymous callers
            return False

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses = set(EVERY_OPERATION)
        if {} not in operation.get("security", [{}]):
            statuses.add(403)
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            statuses.add(404)
        if "requestBody" in operation:
            statuses |= {413, 415}
        if self._idempotent():
            statuses |= {409, 422}
        return statuses

    def _idempotent(self) -> bool:
        from leaderboard_site.api.idempotency import applies

        return applies(self.method, self.path)

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self._register_components()
        if self._idempotent():
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        responses = operation["responses"]
        for code, response in list(responses.items()):
            content = response.get("content", {}).get("application/json", {})
            if int(code) in ERROR_RESPONSES and content.get("schema") == ERROR_REF:
                responses[code] = self._error_ref(int(code))
        for status in sorted(self._error_statuses(operation)):
            responses.setdefault(str(status), self._error_ref(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_response_headers_for_code(self, status_code: Any, direction: str = "response") -> Any:
        headers = super()._get_response_headers_for_code(status_code, direction)
        return {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}, **headers}

    @staticmethod
    def _error_ref(status: int) -> dict[str, str]:
        return {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}

    def _register_components(self) -> None:
        register = self.registry.register_on_missing
        register(ResolvedComponent("Error", ResolvedComponent.SCHEMA, ERROR_SCHEMA, AutoSchema))
        register(
            ResolvedComponent("RequestId", ResolvedComponent.HEADER, REQUEST_ID_HEADER, AutoSchema)
        )
        for status, (name, description) in ERROR_RESPONSES.items():
            headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
            if status == 429:
                headers["Retry-After"] = {"schema": {"type": "integer"},
                                          "description": "Seconds to wait."}  # fmt: skip
            if status == 401:
                headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
            response = {
                "description": description,
                "headers": headers,
                "content": {"application/json": {"schema": ERROR_REF}},
            }
            register(ResolvedComponent(name, ResolvedComponent.RESPONSE, response, AutoSchema))
