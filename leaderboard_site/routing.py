"""WebSocket routes (the ASGI application's `websocket` protocol)."""

from django.urls import path

from leaderboard_site.realtime.consumers import EventConsumer

websocket_urlpatterns = [path("ws", EventConsumer.as_asgi())]
