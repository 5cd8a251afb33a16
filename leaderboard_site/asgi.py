"""The ASGI entry point: HTTP through Django (its sync stack in a thread pool, see handlers.py),
the WebSocket event stream (`/ws`) through Channels."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")
django.setup(set_prefix=False)

from functools import partial  # noqa: E402

from django.conf import settings  # noqa: E402

from leaderboard.api.views import serve_snapshot_async  # noqa: E402
from leaderboard_site.handlers import ThreadedASGIHandler  # noqa: E402

# The full lists are the hot public reads: async, no thread per request (when REST is on).
django_asgi_app = ThreadedASGIHandler(
    async_views={
        "leaderboard-raw": partial(serve_snapshot_async, kind="raw"),
        "leaderboard-formatted": partial(serve_snapshot_async, kind="formatted"),
    }
    if settings.ENABLE_REST
    else {}
)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from leaderboard_site.routing import websocket_urlpatterns  # noqa: E402

# Sockets authenticate with a header or a token, never a cookie: a page on another origin
# cannot ride on a visitor's session, so no origin check is needed.
application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": URLRouter(websocket_urlpatterns)}
)

# What is loaded by now lives as long as the worker: move it out of the collector's sight. A
# full collection walks every tracked object (~350k here, ~200 ms) and stops the worker's
# requests meanwhile; frozen, a collection walks only what requests made.
gc.freeze()
