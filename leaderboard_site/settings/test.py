"""Test settings: the base settings, with fast hashing and an isolated cache."""

import atexit
import os
import shutil
import tempfile
from urllib.parse import urlsplit, urlunsplit

from leaderboard_site.settings.base import *  # noqa: F403
from leaderboard_site.settings.base import CACHES, DATABASES, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Threads that serve requests (the ASGI handler's pool) close their connections when a request
# ends, so that the test database can be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Runs are asked in this process (the test that forks says so), whatever the machine's CPUs.
BENCHMARK_PROCESSES = 1
# Each test process adds up only its own samples at /metrics (suites run side by side).
PROMETHEUS_MULTIPROC_DIR = tempfile.mkdtemp(prefix="leaderboard-metrics-")
_metrics_owner = os.getpid()


def _remove_metrics_folder() -> None:
    if os.getpid() == _metrics_owner:  # not a forked child's exit
        shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)


atexit.register(_remove_metrics_folder)

if REDIS_URL:
    # Tests flush their cache between cases: give them a database of their own (15, or
    # TEST_REDIS_DB for two suites running side by side on one Redis).
    _test_db = int(os.environ.get("TEST_REDIS_DB", "15"))
    TEST_REDIS_URL = urlunsplit(urlsplit(REDIS_URL)._replace(path=f"/{_test_db}"))
    CACHES["default"]["LOCATION"] = TEST_REDIS_URL
    CACHES["ratelimit"]["LOCATION"] = TEST_REDIS_URL
    RATE_LIMIT_REDIS_URL = TEST_REDIS_URL
    CELERY_BROKER_URL = TEST_REDIS_URL  # flushed with the cache before each test
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [TEST_REDIS_URL]},
        }
    }
else:
    CELERY_BROKER_URL = "memory://"  # tasks a test enqueues vanish with the test process
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
    }

# Tests never reach a real Hub: each test that needs one points HF_ENDPOINT at tests/support/.
HF_ENDPOINT = "http://127.0.0.1:9"
HF_TOKEN = None
