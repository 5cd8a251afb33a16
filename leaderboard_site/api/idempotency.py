"""`Idempotency-Key`: a retried POST gets the first answer instead of doing the work twice.

On the routes of `ROUTES` (every POST of /v1 but /v1/auth/*, whose answers carry tokens and
once-shown keys, plus submissions and votes), a signed-in caller's key is claimed by inserting
its row in a transaction of its own before the view runs, so two requests racing with one key
collide on the (caller, key) unique constraint and only one does the work. The other gets:
- the first answer (status, content type, body; `Idempotent-Replayed: true`) once it is stored,
  when its method, path (with the query) and body hash the same;
- 409 `IN_PROGRESS` (with `Retry-After`) while the first still runs: it never waits (a claim
  still running after IDEMPOTENCY_RUNNING_SECONDS is presumed dead and taken over);
- 422 `IDEMPOTENCY_KEY_REUSED` for another request under the same key.
Answers of 500 and above and streamed answers are not kept: the key is released, and the
retry does the work again. Anonymous callers' keys are ignored (those routes refuse them
anyway), as are keys on other routes. Keys live `IDEMPOTENCY_TTL` seconds (24 h); beat purges
older ones, and an older row still there is replaced.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.decorators import sync_and_async_middleware

from leaderboard_site import sql
from leaderboard_site.api.errors import ApiError, error_response
from leaderboard_site.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ROUTES = re.compile(r"^/v1/(?!auth(?:/|$)).+|^/api/models/submit$|^/api/votes/[^/]+/[^/]+$")
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as a header carries it
IN_PROGRESS_RETRY_AFTER = 1
KEY_COLUMN = connection.ops.quote_name("key")  # a keyword in SQLite's grammar

Handler = Callable[[HttpRequest], Any]


def applies(method: str, path: str) -> bool:
    """Whether a request (or an OpenAPI path template) takes an Idempotency-Key."""
    return method == "POST" and ROUTES.match(path) is not None


class Claim:
    """A key this request holds: `finish` keeps its answer or releases it. (Plain SQL, one
    statement each, as for votes: the ORM's compiling would cost more than the statements.)"""

    def __init__(self, row_id: int) -> None:
        self.row_id = row_id

    def finish(self, response: HttpResponseBase) -> None:
        if response.status_code >= 500 or response.streaming:
            self.release()
            return
        sql.run(
            f"UPDATE {sql.table(IdempotencyKey)} SET status_code = %s, content_type = %s, "  # noqa: S608
            "body = %s WHERE id = %s",
            [response.status_code, response.get("Content-Type", ""),
             response.content, self.row_id],  # type: ignore[attr-defined]
        )  # fmt: skip

    def release(self) -> None:
        sql.run(f"DELETE FROM {sql.table(IdempotencyKey)} WHERE id = %s", [self.row_id])  # noqa: S608


def request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method}\n{request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _caller(request: HttpRequest) -> str | None:
    from leaderboard_site.accounts.authentication import resolve

    try:
        principal = resolve(request)
    except ApiError:
        return None  # bad credentials: the view refuses them
    return principal.rate_key if principal else None


def _insert(caller: str, key: str, digest: str) -> int | None:
    """Claim the key: one statement, its own transaction, so that a concurrent duplicate
    collides on the unique constraint (it waits for this one to commit, then inserts
    nothing)."""
    values = "VALUES (%s, %s, %s, %s, '')"
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The claim's commit need not wait for the disk: the commit that keeps the answer (and
        # the view's own) flush the log up to and past it, and until then a crash loses the
        # claim together with everything the request did. Other connections see it at once.
        # set_config(..., true) holds for this statement's own transaction only.
        values = (
            "SELECT %s, %s, %s, %s, '' "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous"
        )
    rows = sql.run(
        f"INSERT INTO {sql.table(IdempotencyKey)} (caller, {KEY_COLUMN}, request_hash, "
        f"created_at, content_type) {values} "
        f"ON CONFLICT (caller, {KEY_COLUMN}) DO NOTHING RETURNING id",
        [caller, key, digest, sql.stamp(timezone.now())],
    )
    return rows[0][0] if rows else None


def claim(request: HttpRequest) -> Claim | HttpResponseBase | None:
    """The key's claim for this request, the answer to give instead of running it, or None
    when the request carries no key that counts."""
    key = request.headers.get(HEADER)
    if key is None or not applies(request.method or "", request.path):
        return None
    if not KEY_PATTERN.match(key):
        return error_response(
            400, f"{HEADER} must be 1 to 255 visible ASCII characters.",
            details={"fields": {HEADER: ["1 to 255 visible ASCII characters."]}},
        )  # fmt: skip
    caller = _caller(request)
    if caller is None:
        return None
    digest = request_hash(request)
    for _ in range(2):
        row_id = _insert(caller, key, digest)
        if row_id is not None:
            return Claim(row_id)
        answer = _existing(caller, key, digest)
        if answer is not None:
            return answer  # the first answer, a refusal, or a dead claim taken over
    return _in_progress(key)


def _existing(caller: str, key: str, digest: str) -> Claim | HttpResponseBase | None:
    """The answer for a key already claimed; None when its row had expired (and is gone now)."""
    expired = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL)
    found = sql.select(IdempotencyKey, f"caller = %s AND {KEY_COLUMN} = %s", [caller, key])
    if not found:
        return None  # released meanwhile: claim it again
    row = found[0]
    if row.created_at < expired:
        IdempotencyKey.objects.filter(pk=row.pk, created_at__lt=expired).delete()
        return None
    if row.request_hash != digest:
        return error_response(
            422,
            f"This {HEADER} was used for another request (another method, path or body).",
            code="IDEMPOTENCY_KEY_REUSED",
            details={"key": key},
        )
    if row.status_code is None:
        return _take_over(row) or _in_progress(key)
    response = HttpResponse(bytes(row.body or b""), status=row.status_code,
                            content_type=row.content_type or None)  # fmt: skip
    response[REPLAYED_HEADER] = "true"
    return response


def _take_over(row: IdempotencyKey) -> Claim | None:
    """A claim still running after IDEMPOTENCY_RUNNING_SECONDS is presumed dead (its process
    was killed mid-request): the retry takes it over and does the work."""
    stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_RUNNING_SECONDS)
    if row.created_at >= stale:
        return None
    taken = IdempotencyKey.objects.filter(
        pk=row.pk, status_code__isnull=True, created_at=row.created_at
    ).update(created_at=timezone.now())
    return Claim(row.pk) if taken else None


def _in_progress(key: str) -> HttpResponseBase:
    return error_response(
        409,
        f"A request with this {HEADER} is still in progress; retry shortly for its answer.",
        code="IN_PROGRESS",
        details={"key": key},
        headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
        retry_after=IN_PROGRESS_RETRY_AFTER,
    )


def purge() -> int:
    """Forget keys older than IDEMPOTENCY_TTL (beat, hourly)."""
    expired = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired).delete()
    return deleted


def _wants_key(request: HttpRequest) -> bool:
    return HEADER in request.headers and applies(request.method or "", request.path)


@sync_and_async_middleware
def idempotency(get_response: Handler) -> Handler:
    """The middleware: claim before the view, keep (or release) its answer after."""
    if iscoroutinefunction(get_response):
        claim_async = sync_to_async(claim)

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            if not _wants_key(request):
                return await get_response(request)  # type: ignore[no-any-return]
            held = await claim_async(request)
            if held is not None and not isinstance(held, Claim):
                return held
            try:
                response = await get_response(request)
            except BaseException:
                if held is not None:
                    await sync_to_async(held.release)()
                raise
            if held is not None:
                await sync_to_async(held.finish)(response)
            return response  # type: ignore[no-any-return]

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        if not _wants_key(request):
            return get_response(request)  # type: ignore[no-any-return]
        held = claim(request)
        if held is not None and not isinstance(held, Claim):
            return held
        try:
            response = get_response(request)
        except BaseException:
            if held is not None:
                held.release()
            raise
        if held is not None:
            held.finish(response)
        return response  # type: ignore[no-any-return]

    return middleware
