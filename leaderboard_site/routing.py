"""WebSocket routes (the ASGI application's `websocket` protocol)."""

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import URLPattern, path, re_path

from leaderboard_site.realtime.consumers import EventConsumer

websocket_urlpatterns: list[URLPattern] = []
if settings.ENABLE_WEBSOCKET:
    websocket_urlpatterns.append(path("ws", EventConsumer.as_asgi()))
if settings.ENABLE_WEBSOCKET and settings.ENABLE_GRAPHQL:  # subscriptions (graphql-transport-ws)
    from leaderboard_site.graphql.consumers import GraphQLSocket
    from leaderboard_site.graphql.schema import schema

    websocket_urlpatterns.append(path("graphql", GraphQLSocket.as_asgi(schema=schema)))
# Any other path, /ws when ENABLE_WEBSOCKET is off (and /graphql's socket with it or without
# ENABLE_GRAPHQL): the handshake is refused (HTTP 403).
websocket_urlpatterns.append(re_path(r"", WebsocketDenier.as_asgi()))
