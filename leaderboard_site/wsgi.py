import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")

django_application = get_wsgi_application()

from leaderboard_site.handlers import read_chunked_bodies  # noqa: E402 (needs the apps loaded)

application = read_chunked_bodies(django_application)
gc.freeze()  # startup's objects out of the collector's sight (see asgi.py)
