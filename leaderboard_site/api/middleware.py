"""Cross-cutting middleware. Each works under WSGI and ASGI, without a thread hop except where it
may query the database (the rate limiter finds the caller)."""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import resolve
from django.utils.cache import patch_vary_headers
from django.utils.decorators import sync_and_async_middleware
from django.utils.text import compress_string

from leaderboard_site import sql
from leaderboard_site.api import ratelimit
from leaderboard_site.api.clientip import client_ip
from leaderboard_site.api.context import new_request_id, request_id_var
from leaderboard_site.api.errors import ApiError, error_response, exception_response
from leaderboard_site.api.input import check_request
from leaderboard_site.metrics import definitions as metrics
from leaderboard_site.realtime import topics, watched

access_log = logging.getLogger("leaderboard_site.access")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

GZIP_MIN_BYTES = 500

Handler = Callable[[HttpRequest], Any]


def _middleware(
    before: Callable[[HttpRequest], HttpResponseBase | None] | None = None,
    after: Callable[[HttpRequest, HttpResponseBase], HttpResponseBase] | None = None,
    *,
    blocking: Callable[[HttpRequest], bool] = lambda request: False,
) -> Callable[[Handler], Handler]:
    """Build a middleware from plain before/after functions, native under sync and async.
    Under ASGI, `before` runs in a thread for the requests `blocking` says may query the
    database."""

    def factory(get_response: Handler) -> Handler:
        if iscoroutinefunction(get_response):
            in_thread = sync_to_async(sql.tidied(before)) if before else None

            async def async_middleware(request: HttpRequest) -> HttpResponseBase:
                response: HttpResponseBase | None = None
                if in_thread is not None and blocking(request):
                    response = await in_thread(request)
                elif before is not None:
                    response = before(request)
                if response is None:
                    response = await get_response(request)
                return after(request, response) if after else response

            return async_middleware

        def middleware(request: HttpRequest) -> HttpResponseBase:
            response = before(request) if before else None
            if response is None:
                response = get_response(request)
            return after(request, response) if after else response

        return middleware

    return sync_and_async_middleware(factory)


def in_place(middleware_class: type) -> Callable[[Handler], Handler]:
    """A Django `MiddlewareMixin` whose methods do no I/O, run in place under ASGI too (Django
    would send each method to a thread)."""

    def factory(get_response: Handler) -> Handler:
        instance = middleware_class(get_response)
        before = getattr(instance, "process_request", None)
        after = getattr(instance, "process_response", None)
        return _middleware(before, after)(get_response)  # type: ignore[no-any-return]

    return factory


# --- request id and access log ----------------------------------------------------------------
def _start(request: HttpRequest) -> None:
    request_id = new_request_id(request.headers.get("X-Request-ID"))
    request.request_id = request_id  # type: ignore[attr-defined]
    request._started = time.perf_counter()  # type: ignore[attr-defined]
    request_id_var.set(request_id)


def _finish(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    request_id = request.request_id  # type: ignore[attr-defined]
    response["X-Request-ID"] = request_id
    duration_ms = (time.perf_counter() - request._started) * 1000  # type: ignore[attr-defined]
    line = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(duration_ms, 2),
        "request_id": request_id,
    }
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra=line)
    watched.offer(topics.REQUEST_LOGS, line)  # a clock read, unless an admin watches the log
    _count(request, response, duration_ms / 1000)
    return response


def _route(request: HttpRequest, status: int) -> str:
    """The URL pattern that served the request (bounded, unlike paths); for a request refused
    before the URL was resolved (a 429, a 413), the pattern it would have reached (~0.1 ms)."""
    match = getattr(request, "resolver_match", None)
    if match is None and status == 404:  # the resolver found none: not again for a scanner
        return "(unmatched)"
    if match is None:
        try:
            match = resolve(request.path_info)
        except Exception:  # no pattern (404), or a path the resolver refuses
            return "(unmatched)"
    return f"/{match.route}"


def _error_code(response: HttpResponseBase) -> str:
    """The envelope's code of an error response (its own small JSON body)."""
    if response.streaming or "json" not in response.get("Content-Type", ""):
        return "(other)"
    try:
        content = response.content  # type: ignore[attr-defined]
        if response.get("Content-Encoding") == "gzip":
            content = gzip.decompress(content)
        return str(orjson.loads(content)["error"]["code"])
    except Exception:  # not the envelope (a GraphQL answer, a page's JSON)
        return "(other)"


def _count(request: HttpRequest, response: HttpResponseBase, seconds: float) -> None:
    status = response.status_code
    method = request.method if request.method in KNOWN_METHODS else "other"
    metrics.HTTP_REQUESTS.labels(_route(request, status), method, str(status)).observe(seconds)
    if status >= 400:
        metrics.HTTP_ERRORS.labels(_error_code(response), str(status)).inc()


request_context = _middleware(_start, _finish)


# --- body size ------------------------------------------------------------------------------
def _check_size(request: HttpRequest) -> HttpResponseBase | None:
    if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
        # A body of unknown length the server did not read for us (the ASGI handler reads
        # chunked bodies and counts them): refused, never taken for an empty one.
        return error_response(
            411,
            "Send the body with a Content-Length: this server does not read chunked bodies.",
            code="LENGTH_REQUIRED",
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "Content-Length is not a number.")
    limit = settings.MAX_REQUEST_BYTES
    if length > limit:
        return error_response(
            413,
            f"Request body of {length} bytes exceeds the limit of {limit} bytes.",
            details={"limit_bytes": limit, "content_length": length},
        )
    return None


body_size_limit = _middleware(before=_check_size)


# --- input rules (no NUL anywhere, bounded JSON nesting: leaderboard_site/api/input.py) ------
def _check_input(request: HttpRequest) -> HttpResponseBase | None:
    try:
        check_request(request)
    except ApiError as exc:
        return exception_response(exc)
    return None


input_rules = _middleware(before=_check_input)


# --- gzip -----------------------------------------------------------------------------------
def _gzip(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if response.streaming or response.has_header("Content-Encoding"):
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    content = response.content  # type: ignore[attr-defined]
    if len(content) <= GZIP_MIN_BYTES or "gzip" not in request.headers.get("Accept-Encoding", ""):
        return response
    compressed = compress_string(content)
    if len(compressed) >= len(content):
        return response
    response.content = compressed  # type: ignore[attr-defined]
    response["Content-Length"] = str(len(compressed))
    response["Content-Encoding"] = "gzip"
    if etag := response.get("ETag"):
        response["ETag"] = etag.removesuffix('"') + ';gzip"' if etag.endswith('"') else etag
    return response


gzip_responses = _middleware(after=_gzip)


# --- rate limits ----------------------------------------------------------------------------
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _rate_key(request: HttpRequest) -> str:
    from leaderboard_site.accounts.authentication import resolve

    try:
        principal = resolve(request)
    except ApiError:
        principal = None  # bad credentials: limited as the anonymous client they came from
    return principal.rate_key if principal else f"ip:{client_ip(request)}"


def _too_many(decision: ratelimit.Decision, scope: str) -> HttpResponseBase:
    metrics.RATE_LIMITED.labels(scope).inc()
    return error_response(
        429,
        f"Rate limit exceeded. Try again in {decision.retry_after} seconds.",
        details={"scope": scope},
        headers={"Retry-After": str(decision.retry_after)},
        retry_after=decision.retry_after,
    )


def _limit(request: HttpRequest) -> HttpResponseBase | None:
    if not settings.RATE_LIMIT_ENABLED:
        return None
    key = _rate_key(request)
    decision = ratelimit.take(key, rate=settings.RATE_LIMIT_RPS, burst=settings.RATE_LIMIT_BURST)
    request._rate_limit = decision  # type: ignore[attr-defined]
    if not decision.allowed:
        return _too_many(decision, "requests")
    if request.method not in SAFE_METHODS:
        writes = ratelimit.take(
            f"write:{key}",
            rate=settings.RATE_LIMIT_WRITE_RPS,
            burst=settings.RATE_LIMIT_WRITE_BURST,
        )
        if not writes.allowed:
            request._rate_limit = writes  # type: ignore[attr-defined] # the headers describe it
            return _too_many(writes, "writes")
    return None


def _rate_headers(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    decision: ratelimit.Decision | None = getattr(request, "_rate_limit", None)
    if decision is not None:
        response["X-RateLimit-Limit"] = f"{decision.limit:g}"
        response["X-RateLimit-Remaining"] = str(decision.remaining)
        response["X-RateLimit-Reset"] = str(decision.reset)
    return response


def _has_credentials(request: HttpRequest) -> bool:
    """Finding the caller may query the database; an anonymous caller's bucket is in Redis or
    in this process."""
    from leaderboard_site.accounts.authentication import carries_credentials

    return settings.RATE_LIMIT_ENABLED and carries_credentials(request)


rate_limit = _middleware(_limit, _rate_headers, blocking=_has_credentials)
