import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard_site.settings.base")

application = get_wsgi_application()
gc.freeze()  # startup's objects out of the collector's sight (see asgi.py)
