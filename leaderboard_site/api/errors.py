"""One error format for every endpoint (the Test Bench API's):

{"error": {"code", "message", "details"}, "request_id", "timestamp", "detail"}

`detail` repeats the message at the top level, where the Open LLM Leaderboard's own frontend
(and DRF's clients) look for the reason to show a person.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions as drf
from rest_framework.response import Response

from leaderboard_site.api.context import current_request_id
from leaderboard_site.pages import wants_page
from leaderboard_site.redis_cache import UNAVAILABLE as REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    402: "PAYMENT_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "PROVIDER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """An error a service raises for the caller: it becomes the envelope with this status."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.extra = extra or {}
        if status is not None:
            self.status = status
            self.code = code or CODES_BY_STATUS.get(status, "ERROR")
        elif code is not None:
            self.code = code


class Unauthorized(ApiError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(ApiError):
    status, code = 403, "FORBIDDEN"


class NotFound(ApiError):
    status, code = 404, "NOT_FOUND"


class Conflict(ApiError):
    status, code = 409, "CONFLICT"


class TooManyRequests(ApiError):
    """Over a rate limit or quota; pass extra={"retry_after": seconds}."""

    status, code = 429, "RATE_LIMIT_EXCEEDED"


class ServiceUnavailable(ApiError):
    status, code = 503, "SERVICE_UNAVAILABLE"


def envelope(
    code: str, message: str, details: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": details or {}, **extra},
        "request_id": current_request_id(),
        "timestamp": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
        "detail": message,
    }


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    body = envelope(code or CODES_BY_STATUS.get(status, "ERROR"), message, details, **extra)
    return JsonResponse(body, status=status, headers=headers)


Described = tuple[int, str, str, dict[str, Any], dict[str, Any]]


def _validation_details(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {"fields": detail}
    return {"errors": detail if isinstance(detail, list) else [detail]}


def _first_message(detail: Any) -> str:
    while isinstance(detail, dict | list) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail) if detail else "Invalid input."


def _from_drf(exc: drf.APIException) -> Described:
    status = exc.status_code
    code = CODES_BY_STATUS.get(status, "ERROR")
    extra: dict[str, Any] = {}
    if isinstance(exc, drf.ValidationError):
        field_hint = _first_message(exc.detail)
        return 400, code, f"Invalid input: {field_hint}", _validation_details(exc.detail), extra
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        extra["retry_after"] = int(wait + 0.999)
    return status, code, str(exc.detail), {}, extra


def _unavailable(exc: Exception) -> str | None:
    """The service a request needed that did not answer (restarting, stopped, unreachable)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if isinstance(exc, REDIS_UNAVAILABLE):
        return "cache"
    return None


def describe(exc: Exception) -> Described | None:
    """(status, code, message, details, extra) of an error meant for the caller; None for a bug.
    Shared by REST (below) and GraphQL, so both say the same thing about the same error."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.details, exc.extra
    if (service := _unavailable(exc)) is not None:
        message = f"The {service} is unavailable; try again shortly."
        return (
            503,
            "SERVICE_UNAVAILABLE",
            message,
            {"reason": f"{service}_unavailable"},
            {"retry_after": 1},
        )
    if isinstance(exc, Http404):
        return 404, "NOT_FOUND", "Not found.", {}, {}
    if isinstance(exc, PermissionDenied):
        return 403, "FORBIDDEN", "Permission denied.", {}, {}
    if isinstance(exc, RequestDataTooBig):
        return 413, "PAYLOAD_TOO_LARGE", str(exc), {}, {}
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    return None


def _headers(status: int, extra: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if status == 401:
        headers["WWW-Authenticate"] = f'Bearer realm="{settings.JWT_REALM}"'
    return headers


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error becomes the envelope."""
    described = describe(exc)
    if described is None:
        return None  # a bug: Django's handler500 answers, in the envelope too
    status, code, message, details, extra = described
    body = envelope(code, message, details, **extra)
    return Response(body, status=status, headers=_headers(status, extra))


def exception_response(exc: ApiError) -> JsonResponse:
    """The envelope for a service's error outside DRF, with the same headers."""
    headers = _headers(exc.status, exc.extra)
    return error_response(exc.status, exc.message, code=exc.code, details=exc.details,
                          headers=headers, **exc.extra)  # fmt: skip


def _page(request: HttpRequest, status: int, message: str) -> HttpResponse | None:
    """The error as a web page, for a browser on a page's path (None for the APIs' callers)."""
    if not wants_page(request):
        return None
    context = {"status": status, "message": message, "request_id": current_request_id()}
    try:
        return render(request, "error.html", context, status=status)
    except Exception:  # a page that fails to render its own error: the envelope, still an answer
        logger.exception("The %s page failed to render", status)
        return None


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400, "Bad request.") or error_response(400, "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "You may not see this page."
    return _page(request, 403, message) or error_response(403, "Permission denied.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    page = _page(request, 404, f"There is no page at {request.path}.")
    return page or error_response(
        404, f"No route for {request.path}.", details={"path": request.path}
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: one meant for the caller that a middleware
    # or a plain view raised (the database restarting, an ApiError) gets its own answer.
    error = sys.exc_info()[1]
    described = describe(error) if isinstance(error, Exception) else None
    if described is not None:
        status, code, text, details, extra = described
        headers = _headers(status, extra)
        return _page(request, status, text) or error_response(
            status, text, code=code, details=details, headers=headers, **extra
        )
    message = "Internal server error. The request id identifies it in the logs."
    return _page(request, 500, message) or error_response(500, message)
