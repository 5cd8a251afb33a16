"""`/ws`: the Test Bench API's event stream. The consumer authenticates, joins and leaves groups,
and forwards events; nothing else.

Messages in: `{"type": "subscribe" | "unsubscribe", "topics": [...], "request_id"?}` and
`{"type": "ping", "timestamp"?}`. Messages out: `ack`, `pong` (the ping's `timestamp`, and
ours as `server_timestamp`), `event` `{topic, data, timestamp}` and
`error` `{code, message, details?}`. Credentials as on the REST API (`Authorization`,
`X-API-Key`), or a `token` query parameter for browsers; anonymous callers may subscribe to
public topics only. Bad credentials: an `error` message, then close code 4000 + the HTTP status
(4401, 4409, 4503).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from leaderboard_site.accounts.authentication import scope_principal
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api import input as input_rules
from leaderboard_site.api.errors import ApiError, Unauthorized
from leaderboard_site.metrics import definitions as metrics
from leaderboard_site.realtime import bridge, system_metrics, topics, watched

MAX_TOPICS_PER_MESSAGE = 20
RECHECK_SECONDS = 60


@database_sync_to_async
def _caller(scope: dict[str, Any]) -> dict[str, Any] | None:
    """Who connects: {user_id, username, role}, None when anonymous; ApiError when refused."""
    principal = scope_principal(scope)
    if principal is None:
        return None
    return {"user_id": principal.user.pk, "username": principal.user.username,
            "role": principal.role}  # fmt: skip


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.subscriptions: dict[str, list[str]] = {}
        self.caller: dict[str, Any] | None = None
        self.checked = time.monotonic()
        self.renewing: asyncio.Task[None] | None = None  # keeps watched topics published
        if settings.REALTIME_RELAY:
            bridge.ensure_running()
        await self.accept()
        metrics.WS_CONNECTIONS.inc()
        metrics.WS_CONNECTIONS_OPENED.inc()
        self.counted = True
        try:
            input_rules.check_query_string(self.scope.get("query_string", b"").decode("latin-1"))
            self.caller = await _caller(self.scope)
        except ApiError as exc:
            await self._refuse(exc)

    async def _refuse(self, exc: ApiError) -> None:
        await self._error(exc.code, exc.message)
        await self.close(code=4000 + exc.status)

    async def _still_allowed(self, *, now: bool = False) -> bool:
        """Check the credentials again (on each subscribe, and at most every RECHECK_SECONDS
        while events flow): an expired token, a revoked key or a changed role ends the socket's
        access to what it no longer may see."""
        if self.caller is None or (not now and time.monotonic() - self.checked < RECHECK_SECONDS):
            return True
        self.checked = time.monotonic()
        try:
            caller = await _caller(self.scope)
        except ApiError as exc:
            await self._refuse(exc)
            return False
        if caller != self.caller:
            await self._refuse(Unauthorized("Your access changed: connect again."))
            return False
        return True

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.WS_CONNECTIONS.dec()
            self.counted = False
        for topic in list(getattr(self, "subscriptions", {})):
            await self._leave(topic)
        if getattr(self, "renewing", None) is not None:
            self.renewing.cancel()  # type: ignore[union-attr]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = text_data.encode("utf-8", "surrogatepass") if text_data else bytes_data or b""
        if len(frame) > settings.WS_MAX_FRAME_BYTES:
            limit = settings.WS_MAX_FRAME_BYTES
            await self._error("PAYLOAD_TOO_LARGE", f"Messages are limited to {limit} bytes.",
                              {"limit_bytes": limit, "size_bytes": len(frame)})  # fmt: skip
            await self.close(code=1009)
            return
        try:  # the input rules (no NUL, bounded nesting) and a parser that cannot recurse
            content = input_rules.loads(frame, "message")
        except ApiError as exc:
            await self._error("INVALID_MESSAGE", f"Failed to parse message: {exc.message}",
                              exc.details)  # fmt: skip
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self._pong(content)
        elif kind in ("subscribe", "unsubscribe"):
            await self._subscription(kind, content)
        else:
            await self._error("INVALID_MESSAGE", "type must be subscribe, unsubscribe or ping.",
                              {"type": kind})  # fmt: skip

    async def _pong(self, content: dict[str, Any]) -> None:
        """The client's own `timestamp` back (to time the round trip), and ours."""
        now = _now_ms()
        await self.send_json({"type": "pong", "timestamp": content.get("timestamp", now),
                              "server_timestamp": now})  # fmt: skip

    async def _subscription(self, kind: str, content: dict[str, Any]) -> None:
        names = content.get("topics")
        if (not isinstance(names, list) or not names or len(names) > MAX_TOPICS_PER_MESSAGE
                or not all(isinstance(n, str) for n in names)):  # fmt: skip
            await self._error("INVALID_MESSAGE", "topics must be a list of 1 to 20 topic names.")
            return
        unknown = sorted(set(names) - topics.TOPICS)
        if unknown:
            await self._error("UNKNOWN_TOPIC", f"Unknown topic(s): {', '.join(unknown)}.",
                              {"unknown": unknown, "known": sorted(topics.TOPICS)})  # fmt: skip
            return
        if not await self._still_allowed(now=True):
            return
        if kind == "subscribe":
            private = sorted(set(names) - topics.PUBLIC)
            if private and self.caller is None:
                await self._error("UNAUTHORIZED", "Sign in to subscribe to these topics.",
                                  {"topics": private})  # fmt: skip
                return
            admins = sorted(set(names) & topics.ADMINS)
            if admins and self.caller is not None and self.caller["role"] != Role.ADMIN:
                await self._error("FORBIDDEN", "Only admins may subscribe to these topics.",
                                  {"topics": admins})  # fmt: skip
                return
            for topic in names:
                await self._join(topic)
        else:
            for topic in names:
                await self._leave(topic)
        verb = "Subscribed to" if kind == "subscribe" else "Unsubscribed from"
        await self.send_json({"type": "ack", "request_id": content.get("request_id"),
                              "message": f"{verb} {len(names)} topic(s)",
                              "topics": sorted(self.subscriptions)})  # fmt: skip

    async def _join(self, topic: str) -> None:
        if topic in self.subscriptions:
            return
        caller = self.caller or {}
        groups = topics.groups_for(topic, user_id=caller.get("user_id"),
                                   is_admin=caller.get("role") == Role.ADMIN)  # fmt: skip
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.subscriptions[topic] = groups
        if topic in topics.WATCHED:
            await self._watch(topic)
        if topic == topics.SYSTEM_METRICS:
            system_metrics.joined(self.channel_name)

    async def _watch(self, topic: str) -> None:
        """Have `topic` published while this socket is subscribed to it (watched.py)."""
        await sync_to_async(watched.watch, thread_sensitive=False)(topic)
        if self.renewing is None or self.renewing.done():
            self.renewing = asyncio.create_task(self._renew_watches())

    async def _renew_watches(self) -> None:
        while True:
            await asyncio.sleep(watched.RENEW_SECONDS)
            names = self.subscriptions.keys() & topics.WATCHED
            if not names:
                return
            for topic in names:
                await sync_to_async(watched.watch, thread_sensitive=False)(topic)

    async def _leave(self, topic: str) -> None:
        if topic == topics.SYSTEM_METRICS:
            system_metrics.left(self.channel_name)
        for group in self.subscriptions.pop(topic, []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _error(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message,
                              "details": details or {}})  # fmt: skip

    async def realtime_event(self, event: dict[str, Any]) -> None:
        """A published event (publish.publish) for a group this socket joined."""
        if not await self._still_allowed():
            return
        message = {"type": "event", "topic": event["topic"], "data": event["data"],
                   "timestamp": event["timestamp"]}  # fmt: skip
        if event.get("request_id"):  # the request (or its task) that caused the event
            message["request_id"] = event["request_id"]
        await self.send_json(message)
        metrics.WS_EVENTS_SENT.labels(event["topic"]).inc()
