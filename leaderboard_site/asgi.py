"""The ASGI entry point: HTTP through Django, the WebSocket event stream (`/ws`) through
Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from leaderboard_site.routing import websocket_urlpatterns  # noqa: E402

# Sockets authenticate with a header or a token, never a cookie: a page on another origin
# cannot ride on a visitor's session, so no origin check is needed.
application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": URLRouter(websocket_urlpatterns)}
)
