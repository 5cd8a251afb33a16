"""HTTP under ASGI at the speed of threaded WSGI workers.

Django's own ASGI handler runs a synchronous view, and every `MiddlewareMixin` middleware method
(sessions, CSRF, security headers...), each in a thread of its own making: about a dozen thread
hops per request, and a new thread per request (`ThreadSensitiveContext`). Under it our sync
views served half the requests per second that gunicorn's threaded workers did. This handler
runs the whole synchronous stack (the same MIDDLEWARE, loaded in sync mode) in one hop to a
pool of `HTTP_THREADS` threads, as a threaded WSGI worker would, and keeps the event loop for
reading the request, sending the response and streaming async iterators (server-sent events).
So one process serves HTTP and the WebSocket (Channels) on one address without the hop tax.

Hot public reads can be served by async views (`async_views`: URL name -> view) through the
middleware that concerns them, natively async: MIDDLEWARE without the pages' own (sessions,
CSRF, login, messages: these reads set no cookie and take no form), Django's pure ones
(security headers, common, X-Frame-Options) run in place instead of in a thread. So the full
leaderboard goes out without any thread at all but the cache lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import ImproperlyConfigured, RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse, set_script_prefix
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from leaderboard_site.accounts.authentication import carries_credentials
from leaderboard_site.api.middleware import in_place

Scope = dict[str, Any]
AsyncView = Callable[[HttpRequest], Awaitable[HttpResponseBase]]
WSGIApp = Callable[[dict[str, Any], Any], Any]

# Middleware for pages (cookies, forms, the admin's login), not for public reads.
PAGES_ONLY = {
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
}
# Django middleware whose methods only read the request and set headers: safe in the loop.
PURE = {
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
}


def _anonymous_get(request: HttpRequest) -> bool:
    """What the async views serve: an anonymous GET wanting JSON. Anything else (credentials to
    check, a strict Accept) goes through the view as every other request does."""
    accept = request.headers.get("Accept", "*/*")
    wants_json = "json" in accept or "*/*" in accept or "application/*" in accept
    return request.method == "GET" and wants_json and not carries_credentials(request)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


def _chunked(scope: Scope) -> bool:
    return any(name.lower() == b"transfer-encoding" for name, _ in scope.get("headers", []))


def read_chunked_bodies(application: WSGIApp) -> WSGIApp:
    """The WSGI side of the same: Django reads Content-Length bytes, so a chunked body (which
    gunicorn de-chunks, saying so with `wsgi.input_terminated`) is read here, up to one byte past
    MAX_REQUEST_BYTES (then body_size_limit answers 413), and given its length."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(settings.MAX_REQUEST_BYTES + 1)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return application(environ, start_response)

    return wsgi


def async_chain(view: AsyncView) -> AsyncView:
    """`view` wrapped in MIDDLEWARE (less PAGES_ONLY), every layer async."""
    handler: Any = convert_exception_to_response(view)
    for path in reversed(settings.MIDDLEWARE):
        if path in PAGES_ONLY:
            continue
        factory = import_string(path)
        if isinstance(factory, type) and issubclass(factory, MiddlewareMixin):
            if path not in PURE:
                raise ImproperlyConfigured(
                    f"{path} would run in a thread per request: list it in PURE or PAGES_ONLY."
                )
            factory = in_place(factory)
        elif not getattr(factory, "async_capable", False):
            raise ImproperlyConfigured(f"{path} is not async-capable: list it in PAGES_ONLY.")
        handler = convert_exception_to_response(factory(handler))
    return handler


class ThreadedASGIHandler(ASGIHandler):
    chunk_size = 1 << 20  # a body in memory goes out in messages of 1 MiB (a list of 4,576: one)

    def __init__(self, async_views: dict[str, AsyncView] | None = None) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = ThreadPoolExecutor(settings.HTTP_THREADS, thread_name_prefix="http")
        self.async_paths = {
            reverse(name): async_chain(view) for name, view in (async_views or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        try:
            body, read = await self.read_bounded_body(scope, receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            request, refused = self.create_request(scope, body)
            if request is None:  # an unreadable request: Django's 400, as under WSGI
                if refused is not None:
                    await self.send_response(refused, send)
                return
            if read is not None:  # a chunked body: its length, as counted (see below)
                request.META["CONTENT_LENGTH"] = str(read)
            fast = self.async_paths.get(request.path_info) if _anonymous_get(request) else None
            if fast is not None:
                await self.send_response(await fast(request), send)
                return
            # sync_to_async calls made for this request (a stream's steps) get a thread of
            # their own, as under Django's handler, not one shared by the whole process.
            async with ThreadSensitiveContext():
                await self._through_django(request, receive, send)
        finally:
            body.close()

    async def read_bounded_body(self, scope: Scope, receive: Any) -> tuple[IO[bytes], int | None]:
        """The body, and its length when no Content-Length announced it (chunked), so that
        Django and DRF, which trust Content-Length alone, do not take it for an empty one. A body
        over MAX_REQUEST_BYTES is not kept: an announced one is not read at all, a chunked one
        is read until it passes the limit, and body_size_limit answers 413 from the length."""
        limit = settings.MAX_REQUEST_BYTES
        declared = _content_length(scope)
        spool = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        body = tempfile.SpooledTemporaryFile(max_size=spool)  # noqa: SIM115 (the request closes it)
        if declared is not None and declared > limit:
            return body, None
        read = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                raise RequestAborted
            chunk = message.get("body", b"")
            read += len(chunk)
            if read > limit:  # only a chunked body gets here: gunicorn frames the others
                body.truncate(0)
                break
            body.write(chunk)
            if not message.get("more_body", False):
                break
        body.seek(0)
        return body, read if declared is None and (read or _chunked(scope)) else None

    async def _through_django(self, request: ASGIRequest, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.threads, self._respond, request)
        if not response.streaming:
            await self.send_response(response, send)
            return
        try:
            await self._stream(response, receive, send)
        finally:  # request_finished, in the thread that made the stream's steps
            await sync_to_async(response.close)()

    def _respond(self, request: ASGIRequest) -> HttpResponseBase:
        """The synchronous part, whole in one pool thread: the request's signals (they check
        this thread's database connection), the middleware and the view."""
        set_script_prefix(get_script_prefix(request.scope))  # contextvars stay in the loop
        signals.request_started.send(sender=self.__class__, scope=request.scope)
        response = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if not response.streaming:
            response.close()  # the body is in memory: finish the request in this thread
        else:
            close_old_connections()  # the view's part is done; the stream ends elsewhere
        return response

    async def _stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send a streaming response until it ends or the client goes away (then stop
        producing it: a server-sent stream would otherwise keep asking its model)."""
        sending = asyncio.create_task(self.send_response(response, send))
        watching = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        for task in (watching, sending):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                await task
