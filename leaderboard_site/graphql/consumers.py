"""`/graphql` over WebSocket: subscriptions with the `graphql-transport-ws` protocol, served by
Strawberry's Channels consumer on the same ASGI address as `POST /graphql`.

The socket follows /ws's rules: the same credentials (the `connection_init` payload's
`Authorization` or `X-API-Key`, else the handshake's headers or `?token=`), checked again at
most every RECHECK_SECONDS while events flow; bad ones close the socket with 4000 + the HTTP
status (4401, 4409, 4503). A frame over WS_MAX_FRAME_BYTES closes it with 1009; a message that
is not JSON, holds a NUL or nests deeper than MAX_JSON_DEPTH closes it with 4400 (the protocol's
code for a bad message), the reason saying which. Only subscriptions are served here: queries
and mutations go to `POST /graphql`, with its rate limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry.channels.handlers.ws_handler import ChannelsWebSocketAdapter, GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from leaderboard_site.accounts.authentication import (
    Principal,
    credentials_principal,
    scope_principal,
)
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api import input as input_rules
from leaderboard_site.api.errors import ApiError, Unauthorized
from leaderboard_site.graphql.errors import shaped
from leaderboard_site.realtime import bridge, topics, watched

RECHECK_SECONDS = 60
MAX_SUBSCRIPTIONS = 20  # per socket, as /ws's topics per message
CLOSE_REASON_BYTES = 120  # a close frame's reason is at most 123 bytes


def _reason(text: str) -> str:
    return text.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")


@dataclass
class SocketContext:
    """What a subscription's resolver knows of its caller (`require` reads `principal`)."""

    ws: GraphQLSocket
    connection_params: dict[str, Any] = field(default_factory=dict)
    principal: Principal | None = None

    @property
    def request(self) -> GraphQLSocket:
        return self.ws


def _credential(params: Mapping[str, Any], name: str) -> str | None:
    """A credential from the connection_init payload (any case of its name)."""
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str) and value:
            return value
    return None


def _principal(scope: dict[str, Any], params: Mapping[str, Any]) -> Principal | None:
    """The payload's credentials, else the handshake's (headers, then `?token=`), as /ws."""
    authorization = _credential(params, "authorization")
    api_key = _credential(params, "x-api-key")
    if authorization or api_key:
        return credentials_principal(authorization=authorization, api_key=api_key)
    return scope_principal(scope)


def _identity(principal: Principal | None) -> tuple[int, str] | None:
    return None if principal is None else (principal.user.pk, principal.role)


class _Adapter(ChannelsWebSocketAdapter):
    """Messages parsed by the input rules; a socket closed once only."""

    closed = False

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        consumer = self.ws_consumer
        while True:
            message = await consumer.message_queue.get()
            if message["disconnected"]:
                break
            if message["message"] is None:
                raise NonTextMessageReceived
            try:
                value = input_rules.loads(message["message"], "message")
            except ApiError as exc:
                await self.close(4400, f"Failed to parse message: {exc.message}")
                break
            if not isinstance(value, dict):
                await self.close(4400, "A message is a JSON object.")
                break
            yield value

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            await self.ws_consumer.close(code=code, reason=_reason(reason))


class _Handler(BaseGraphQLTransportWSHandler[SocketContext, None]):
    """Strawberry's protocol handler, with REST's error codes in `extensions` and subscriptions
    only."""

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        query = payload.get("query") if isinstance(payload, dict) else None
        if self.connection_acknowledged and isinstance(query, str) and "id" in message:
            try:
                operation = get_operation_ast(parse(query), payload.get("operationName"))
            except GraphQLError:
                operation = None  # the handler answers syntax errors itself
            if operation is not None and operation.operation != OperationType.SUBSCRIPTION:
                error = GraphQLError("Only subscriptions over the socket: send queries and "
                                     "mutations to POST /graphql.")  # fmt: skip
                await self.send_message(cast("Message", {"id": message["id"], "type": "error",
                                                         "payload": [shaped(error)]}))  # fmt: skip
                return
        await super().handle_subscribe(message)

    async def _send_result_stream(self, operation: Operation[SocketContext, None],
                                  result_source: Any) -> None:  # fmt: skip
        first = True
        async for result in result_source:
            if first and isinstance(result, PreExecutionError):
                assert result.errors
                if reason := self._get_pre_execution_close_reason(result.errors[0]):
                    await self.websocket.close(code=4400, reason=reason)
                    self.operations.pop(operation.id, None)
                    raise _OperationStreamClosed
                errors = [shaped(error) for error in result.errors]
                await operation.send_operation_message(
                    cast("Message", {"id": operation.id, "type": "error", "payload": errors})
                )
                return
            if not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = [shaped(error) for error in result.errors]
            await operation.send_operation_message(
                cast("Message", {"id": operation.id, "type": "next", "payload": payload})
            )
            first = False


class GraphQLSocket(GraphQLWSConsumer):
    websocket_adapter_class = _Adapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = _Handler  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("max_subscriptions_per_connection", MAX_SUBSCRIPTIONS)
        super().__init__(**kwargs)
        self.identity: tuple[int, str] | None = None
        self.checked = time.monotonic()
        self.renewing: asyncio.Task[None] | None = None
        self.refused = False
        self.watching: Counter[str] = Counter()

    async def connect(self) -> None:
        if settings.REALTIME_RELAY:
            bridge.ensure_running()
        await super().connect()

    async def disconnect(self, code: int) -> None:
        if self.renewing is not None:
            self.renewing.cancel()
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = text_data.encode("utf-8", "surrogatepass") if text_data else bytes_data or b""
        if len(frame) > settings.WS_MAX_FRAME_BYTES:
            limit = settings.WS_MAX_FRAME_BYTES
            await self._close(1009, f"Messages are limited to {limit} bytes.")
            return
        await super().receive(text_data, bytes_data)

    async def get_context(self, request: Any, response: Any) -> SocketContext:  # type: ignore[override]
        return SocketContext(ws=self)

    async def on_ws_connect(self, context: SocketContext) -> UnsetType:  # type: ignore[override]
        """connection_init: who connects. Bad credentials close the socket (4000 + status)."""
        try:
            input_rules.check_query_string(self.scope.get("query_string", b"").decode("latin-1"))
            context.principal = await database_sync_to_async(_principal)(
                self.scope, context.connection_params
            )
        except ApiError as exc:
            await self._close(4000 + exc.status, exc.message)
            raise ConnectionRejectionError from exc
        self.identity = _identity(context.principal)
        self.checked = time.monotonic()
        return UNSET  # an ack without a payload

    async def _close(self, code: int, reason: str) -> None:
        if not self.refused:
            self.refused = True
            await self.close(code=code, reason=_reason(reason))

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if getattr(self, "closing", False):
            return
        self.closing = True
        await super().close(code=code, reason=reason)

    async def still_allowed(self, context: SocketContext, *, now: bool = False) -> bool:
        """The credentials again (on each subscription, and at most every RECHECK_SECONDS while
        events flow): an expired token, a revoked key or a changed role closes the socket, as
        on /ws."""
        if self.identity is None or (not now and time.monotonic() - self.checked < RECHECK_SECONDS):
            return True
        self.checked = time.monotonic()
        try:
            principal = await database_sync_to_async(_principal)(
                self.scope, context.connection_params
            )
        except ApiError as exc:
            await self._close(4000 + exc.status, exc.message)
            return False
        if _identity(principal) != self.identity:
            await self._close(4401, Unauthorized("Your access changed: connect again.").message)
            return False
        return True

    async def events(
        self, context: SocketContext, topic: str, keep: Callable[[dict[str, Any]], bool]
    ) -> AsyncIterator[dict[str, Any]]:
        """The events on `topic` this caller may see (the groups /ws would join) that `keep`
        wants, as published (`{topic, data, timestamp}`)."""
        if not await self.still_allowed(context, now=True):
            return
        user_id, role = self.identity or (None, None)
        groups = topics.groups_for(topic, user_id=user_id, is_admin=role == Role.ADMIN)
        if topic in topics.WATCHED:
            await self._watch(topic)
        try:
            async with self.listen_to_channel("realtime.event", groups=groups) as messages:
                async for message in messages:
                    if message.get("topic") != topic or not keep(message["data"]):
                        continue
                    if not await self.still_allowed(context):
                        return
                    yield message
        finally:
            if topic in topics.WATCHED:
                self.watching[topic] -= 1

    async def _watch(self, topic: str) -> None:
        """Have `topic` published while this socket is subscribed to it (watched.py)."""
        self.watching[topic] += 1
        await sync_to_async(watched.watch, thread_sensitive=False)(topic)
        if self.renewing is None or self.renewing.done():
            self.renewing = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(watched.RENEW_SECONDS)
            names = [topic for topic, count in self.watching.items() if count > 0]
            if not names:
                return
            for topic in names:
                await sync_to_async(watched.watch, thread_sensitive=False)(topic)
