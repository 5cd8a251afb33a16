"""WebSocket routes (the ASGI application's `websocket` protocol)."""

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import URLPattern, path, re_path

from leaderboard_site.realtime.consumers import EventConsumer

websocket_urlpatterns: list[URLPattern] = []
if settings.ENABLE_WEBSOCKET:
    websocket_urlpatterns.append(path("ws", EventConsumer.as_asgi()))
# Any other path, and /ws when ENABLE_WEBSOCKET is off: the handshake is refused (HTTP 403).
websocket_urlpatterns.append(re_path(r"", WebsocketDenier.as_asgi()))
