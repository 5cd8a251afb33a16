"""Settings for every environment; each difference between them is an environment variable.

`.env.example` documents every variable read here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from leaderboard_site.env import from_process
from leaderboard_site.logconfig import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = from_process(BASE_DIR)

VAR_DIR = Path(env.str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = env.choice("ENVIRONMENT", ["development", "production"], "development")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env.bool("DEBUG", default=False)
if DEBUG and PRODUCTION:
    raise ImproperlyConfigured("DEBUG=true is refused when ENVIRONMENT=production")
VERSION = "0.1.0"
MIN_SECRET_BYTES = 32


def _secret(name: str, development_default: Callable[[], str]) -> str:
    """A secret from the environment; required in production (at least 32 bytes), defaulted in
    development."""
    value = env.optional(name)
    if PRODUCTION and not value:
        raise ImproperlyConfigured(f"{name} is required when ENVIRONMENT=production")
    if PRODUCTION and len(value.encode()) < MIN_SECRET_BYTES:  # type: ignore[union-attr]
        raise ImproperlyConfigured(
            f"{name} is too short for production: at least {MIN_SECRET_BYTES} bytes "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return value or development_default()


def _generated_secret_key() -> str:
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("SECRET_KEY", _generated_secret_key)

# --- serving -------------------------------------------------------------------------------
PORT = env.int("PORT", 7860, minimum=1)
BIND_ADDRESS = env.str("BIND_ADDRESS", f"127.0.0.1:{PORT}")
_host, _sep, _port = BIND_ADDRESS.rpartition(":")
if not _sep or not _host or not _port.isdigit():
    raise ImproperlyConfigured(f"BIND_ADDRESS={BIND_ADDRESS!r} is not valid: expected host:port")
# `make run`'s web server: `asgi` (default) is gunicorn's ASGI workers serving HTTP and the
# WebSocket stream (/ws) on BIND_ADDRESS; `wsgi` is gunicorn's threaded workers for HTTP on
# BIND_ADDRESS and one ASGI worker for /ws on WS_BIND_ADDRESS.
SERVER = env.choice("SERVER", ["wsgi", "asgi"], "asgi")
WS_BIND_ADDRESS = env.str("WS_BIND_ADDRESS", f"{_host}:{int(_port) + 1}")
_ws_host, _sep, _ws_port = WS_BIND_ADDRESS.rpartition(":")
if not _sep or not _ws_host or not _ws_port.isdigit():
    raise ImproperlyConfigured(
        f"WS_BIND_ADDRESS={WS_BIND_ADDRESS!r} is not valid: expected host:port"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["*"] if not PRODUCTION else [])
# Permissive conveniences are on by default in development and explicit opt-ins in production.
ENABLE_SWAGGER = env.bool("ENABLE_SWAGGER", default=not PRODUCTION)
ENABLE_GRAPHIQL = env.bool("ENABLE_GRAPHIQL", default=not PRODUCTION)  # playground at /graphql
# The three APIs, each on unless turned off: REST (/api/ and /v1/; /health, the admin, the pages
# and the docs stay), GraphQL (/graphql) and the WebSocket event stream (/ws).
ENABLE_REST = env.bool("ENABLE_REST", default=True)
ENABLE_GRAPHQL = env.bool("ENABLE_GRAPHQL", default=True)
ENABLE_WEBSOCKET = env.bool("ENABLE_WEBSOCKET", default=True)
# The most list items one GraphQL document may ask for: each list field counts its page size
# (10 without one) times the sizes of the lists around it (leaderboard_site/graphql/cost.py).
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", 5000, minimum=1)
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", 2, minimum=1)
# Threads per web process running Django's synchronous stack (a view waiting on a model
# provider holds one).
HTTP_THREADS = env.int("HTTP_THREADS", 8, minimum=1)
# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs, comma-separated).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES")
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# JSON bodies and /ws messages nested deeper than this are refused (400, INVALID_MESSAGE).
MAX_JSON_DEPTH = env.int("MAX_JSON_DEPTH", 64, minimum=2)
# /ws messages above this many bytes get an error, then close code 1009.
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", 64 * 1024, minimum=1024)
# Seconds an idle HTTP connection stays open for its next request (longer than the idle timeout
# of a proxy or load balancer in front, typically 60 s).
KEEPALIVE_SECONDS = env.int("KEEPALIVE_SECONDS", 75, minimum=1)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "leaderboard_site.api",
    "leaderboard_site.accounts",
    "leaderboard_site.hub",
    "leaderboard_site.realtime",
    "leaderboard",
    "submissions",
    "votes",
    "benchmarks",
    "webhooks",
]

MIDDLEWARE = [
    "leaderboard_site.api.middleware.request_context",
    "leaderboard_site.api.middleware.body_size_limit",
    "leaderboard_site.api.middleware.rate_limit",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "leaderboard_site.api.middleware.gzip_responses",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads the body, a form or a cookie's session; its 400s get every header.
    "leaderboard_site.api.middleware.input_rules",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: a replayed answer skips only the view, and the answer it keeps is not gzipped yet.
    "leaderboard_site.api.idempotency.idempotency",
]

ROOT_URLCONF = "leaderboard_site.urls"
WSGI_APPLICATION = "leaderboard_site.wsgi.application"
ASGI_APPLICATION = "leaderboard_site.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leaderboard_site.pages.site",
            ],
        },
    },
]

# --- data ----------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not valid: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing, and let readers go on (WAL).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        # Parameters bound by the server (psycopg's ServerBindingCursor). Django leaves psycopg's
        # prepare_threshold at None, so no statement is prepared, and PgBouncer in transaction
        # mode accepts it (checked with PgBouncer 1.18). Were statements prepared (OPTIONS'
        # prepare_threshold), PgBouncer would need 1.21+ with max_prepared_statements, or this
        # turned off.
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # Chunked reads (.iterator(): the snapshot, exports, the mirror) go through a cursor held
    # past its transaction, which PgBouncer in transaction mode cannot keep on one server
    # connection: turn them off there (each read is then fetched whole).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = not env.bool(
        "DATABASE_SERVER_SIDE_CURSORS", default=True
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.optional("REDIS_URL")
# Seconds to wait for Redis to connect or answer. Past it the caller goes on without Redis where
# it can (the lists, the rate limiter) and a request that needs it gets a 503, and the process
# does not wait for Redis again for a second (leaderboard_site/redis_cache.py).
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", 0.5, minimum=0.01)
CACHE_TTL = env.int("CACHE_TTL", 300, minimum=0)
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "lb")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "leaderboard_site.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": CACHE_TTL,
            # Bounded waits: an event loop reads the snapshot's version here.
            "OPTIONS": {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT},
        }
    }
    CACHES["ratelimit"] = {**CACHES["default"], "KEY_PREFIX": f"{CACHE_KEY_PREFIX}-rl"}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    # No server needed, and shared by every process `make run` starts (web and worker).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "TIMEOUT": CACHE_TTL,
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        },
        # Counters need atomic increments: per process, like the token buckets below.
        "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _broker = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        # kombu's exchange tables (its default is ./control, beside manage.py)
        "control_folder": str(_broker / "control"),
        "store_processed": False,
    }
# Without Redis each process has its own in-memory channel layer: events reach the processes
# serving /ws through the database (leaderboard_site/realtime/bridge.py), polled this often.
REALTIME_RELAY = not REDIS_URL
REALTIME_RELAY_INTERVAL = env.float("REALTIME_RELAY_INTERVAL", 0.25, minimum=0.01)

# --- Celery --------------------------------------------------------------------------------
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ROUTES = {
    "submissions.tasks.evaluate_next": {"queue": "evaluation"},
    "benchmarks.tasks.benchmark_run": {"queue": "benchmarks"},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Hugging Face Hub ------------------------------------------------------------------------
HF_TOKEN = env.optional("HF_TOKEN")
HF_ORGANIZATION = env.str("HF_ORGANIZATION", "open-llm-leaderboard")
HF_ENDPOINT = env.str("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
HF_TIMEOUT = env.float("HF_TIMEOUT", 10.0, minimum=0.1)
# Where the mirrored datasets are published: the Hub with a token, else a local folder
# (VAR_DIR/hub/<org>/<dataset>) with the same layout.
MIRROR_TARGET = {
    "hub": "leaderboard_site.hub.mirror.HubTarget",
    "folder": "leaderboard_site.hub.mirror.FolderTarget",
}[env.choice("MIRROR_TARGET", ["hub", "folder"], "hub" if HF_TOKEN else "folder")]
MIRROR_INTERVAL = env.int("MIRROR_INTERVAL", 300, minimum=1)

# --- API -----------------------------------------------------------------------------------
CORS_ORIGINS = env.list("CORS_ORIGINS", [] if PRODUCTION else ["*"])
CORS_ALLOW_ALL_ORIGINS = CORS_ORIGINS == ["*"]
CORS_ALLOWED_ORIGINS = [] if CORS_ALLOW_ALL_ORIGINS else CORS_ORIGINS
# Browsers on another origin may send an API key and their own request id.
CORS_ALLOW_HEADERS = [*cors_default_headers, "x-api-key", "x-request-id"]
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "ETag",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["leaderboard_site.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leaderboard_site.accounts.authentication.PrincipalAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["leaderboard_site.accounts.permissions.HasRole"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "leaderboard_site.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "leaderboard_site.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "leaderboard_site.api.errors.exception_handler",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Leaderboard and Benchmark Server",
    "DESCRIPTION": "The Open LLM Leaderboard backend and the LLM Test Bench API.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- seeing it: GET /metrics, /health, the `system.metrics` topic ----------------------------
# A bearer token GET /metrics then requires (`Authorization: Bearer <token>`); unset, it is open.
METRICS_TOKEN = env.optional("METRICS_TOKEN")
# Where every process (web workers, Celery workers) writes its samples for /metrics to add up
# (prometheus-client's multi-process mode); `python -m leaderboard_site.serve` empties it at start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
# Seconds between two `system.metrics` events on /ws while an admin is subscribed.
SYSTEM_METRICS_INTERVAL = env.float("SYSTEM_METRICS_INTERVAL", 5.0, minimum=0.5)

# --- identity and limits --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"


JWT_SECRET = _secret("JWT_SECRET", lambda: f"jwt:{SECRET_KEY}")
JWT_EXPIRATION = env.int("JWT_EXPIRATION", 3600, minimum=60)
JWT_REALM = "leaderboard"
# How long a web process may reuse a user or API key it looked up (revocations and role changes
# reach other processes within this many seconds).
PRINCIPAL_CACHE_SECONDS = env.float("PRINCIPAL_CACHE_SECONDS", 5.0, minimum=0.0)

# Benches lift the limits (except the rate limiter's own bench).
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True) and not env.bool(
    "BENCH_LIFT_RATE_LIMITS", default=False
)
RATE_LIMIT_REDIS_URL = REDIS_URL
# Redis not answering: true limits each web process on its own (each allows the whole rate, so
# N processes allow N times it) rather than refuse traffic; false answers 503 instead.
RATE_LIMIT_FAIL_OPEN = env.bool("RATE_LIMIT_FAIL_OPEN", default=True)
RATE_LIMIT_RPS = env.float("RATE_LIMIT_RPS", 100.0, minimum=0.001)
RATE_LIMIT_BURST = env.int("RATE_LIMIT_BURST", 50, minimum=1)
RATE_LIMIT_WRITE_RPS = env.float("RATE_LIMIT_WRITE_RPS", 10.0, minimum=0.001)
RATE_LIMIT_WRITE_BURST = env.int("RATE_LIMIT_WRITE_BURST", 20, minimum=1)
# Logins (fixed windows, django-ratelimit's "N/m"): attempts per client IP and failures per
# username and IP (LOGIN_RATE); failures per username from all addresses but those the user
# signed in from in the last LOGIN_KNOWN_DAYS (LOGIN_USER_RATE).
LOGIN_RATE = env.str("LOGIN_RATE", "10/m")
LOGIN_USER_RATE = env.str("LOGIN_USER_RATE", "100/h")
for _name, _rate in (("LOGIN_RATE", LOGIN_RATE), ("LOGIN_USER_RATE", LOGIN_USER_RATE)):
    if not re.fullmatch(r"\d+/\d*[smhd]", _rate):
        raise ImproperlyConfigured(f"{_name}={_rate!r} is not valid: expected e.g. 10/m")
LOGIN_KNOWN_DAYS = env.int("LOGIN_KNOWN_DAYS", 30, minimum=1)
RATELIMIT_USE_CACHE = "ratelimit"
SUBMISSION_QUOTA = env.int("SUBMISSION_QUOTA", 5, minimum=0)
SUBMISSION_QUOTA_DAYS = env.int("SUBMISSION_QUOTA_DAYS", 7, minimum=1)
# Votes per person per window (seconds), on top of the general rate limit.
VOTE_LIMIT = env.int("VOTE_LIMIT", 100, minimum=1)
VOTE_LIMIT_WINDOW = env.int("VOTE_LIMIT_WINDOW", 3600, minimum=1)
# Parameter caps in billions, per precision (gptq weights are counted x8, as upstream).
SUBMISSION_MAX_PARAMS_B = {
    "float16": env.float("SUBMISSION_MAX_PARAMS_16BIT", 100.0, minimum=0.0),
    "bfloat16": env.float("SUBMISSION_MAX_PARAMS_16BIT", 100.0, minimum=0.0),
    "8bit": env.float("SUBMISSION_MAX_PARAMS_8BIT", 280.0, minimum=0.0),
    "4bit": env.float("SUBMISSION_MAX_PARAMS_4BIT", 560.0, minimum=0.0),
    "gptq": env.float("SUBMISSION_MAX_PARAMS_4BIT", 560.0, minimum=0.0),
}

# --- evaluation (lm-evaluation-harness on the `evaluation` queue) ---------------------------
EVAL_BACKEND = env.choice(
    "EVAL_BACKEND", ["hf", "vllm", "local-completions", "local-chat-completions"], "hf"
)
# Extra lm-eval model arguments, e.g. "pretrained=/models/copy"; `revision` and the precision
# come from the request (a dtype here that disagrees with the request's precision fails the run).
EVAL_MODEL_ARGS = env.str("EVAL_MODEL_ARGS", "")
EVAL_TASKS = env.list(
    "EVAL_TASKS",
    [
        "leaderboard_ifeval",
        "leaderboard_bbh",
        "leaderboard_math_hard",
        "leaderboard_gpqa",
        "leaderboard_musr",
        "leaderboard_mmlu_pro",
    ],
)
# A folder of extra task yamls (our own tasks, e.g. tests' fixtures); with it set, lm-eval's own
# task index is not loaded (TaskManager(include_defaults=False)).
EVAL_INCLUDE_PATH = env.optional("EVAL_INCLUDE_PATH")
# A run missing some of the leaderboard's subtasks (BBH's 24, MUSR's 3, GPQA's 3, MATH's 7) is
# FAILED naming them; with this on it is published, scored over what ran and marked partial.
EVAL_ALLOW_PARTIAL = env.bool("EVAL_ALLOW_PARTIAL", default=False)
EVAL_BATCH_SIZE = env.str("EVAL_BATCH_SIZE", "auto")
# Items per task (0: all) and a cap on generated tokens (0: the tasks' own), for short runs.
EVAL_LIMIT = env.int("EVAL_LIMIT", 0, minimum=0) or None
EVAL_MAX_GEN_TOKS = env.int("EVAL_MAX_GEN_TOKS", 0, minimum=0) or None
EVAL_DEVICE = env.str("EVAL_DEVICE", "cpu")
EVAL_LEASE_SECONDS = env.int("EVAL_LEASE_SECONDS", 120, minimum=5)
EVAL_MAX_ATTEMPTS = env.int("EVAL_MAX_ATTEMPTS", 3, minimum=1)
EVAL_POWER_KW = env.float("EVAL_POWER_KW", 5.6, minimum=0.0)
EVAL_CARBON_G_PER_KWH = env.float("EVAL_CARBON_G_PER_KWH", 269.8, minimum=0.0)

# --- static, i18n --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the pages' own CSS and scripts (the apps' are in theirs)
# The web pages' sign-in: read from the cache, written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "signin"
SERVE_STATIC = env.bool("SERVE_STATIC", default=True)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- security ------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- logging -------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", ["debug", "info", "warning", "error", "critical"], "info")
LOG_LEVELS = env.mapping("LOG_LEVELS")
LOGGING = build_logging(LOG_LEVEL.upper(), LOG_LEVELS)

# --- leaderboard ---------------------------------------------------------------------------
LEADERBOARD_SNAPSHOT_GZIP_LEVEL = env.int("LEADERBOARD_SNAPSHOT_GZIP_LEVEL", 4, minimum=1)
# `documented`: the Open LLM Leaderboard API as its text documents it; `upstream`: the two full
# lists and the two vote reads shaped as the upstream backend answered (for its React frontend).
LEADERBOARD_API = env.choice("LEADERBOARD_API", ["documented", "upstream"], "documented")

# --- benchmark runs (the `benchmarks` queue) -----------------------------------------------
# A run's worker renews its lease this often / 3; a run whose lease ran out is resumed elsewhere.
BENCHMARK_LEASE_SECONDS = env.int("BENCHMARK_LEASE_SECONDS", 60, minimum=3)
# Answers are stored (with the run's progress) at least this often, in seconds.
BENCHMARK_STORE_INTERVAL = env.float("BENCHMARK_STORE_INTERVAL", 0.5, minimum=0.01)
# Processes that ask a run's items at once (forked by its worker, 100 items each at least, no
# more than the run's concurrency): the providers' SDKs cost ~1 ms of CPU a call, so one event
# loop's own latency caps a run; default, one per CPU.
BENCHMARK_PROCESSES = env.int("BENCHMARK_PROCESSES", os.cpu_count() or 1, minimum=1)
# The longest a run may take before its worker stops it (Celery's soft time limit).
BENCHMARK_TIME_LIMIT = env.int("BENCHMARK_TIME_LIMIT", 6 * 3600, minimum=60)
# Seconds a process remembers a user's and an API key's spend caps (or that they have none):
# an admin's change applies within this delay.
BUDGET_CACHE_SECONDS = env.float("BUDGET_CACHE_SECONDS", 5.0, minimum=0.0)
# Days after which beat erases completions' prompt and text (the rows stay, with their tokens,
# latency and cost); unset or 0: kept.
COMPLETION_RETENTION_DAYS = env.int("COMPLETION_RETENTION_DAYS", 0, minimum=0) or None

# --- periodic work (celery beat, started with the worker) ----------------------------------
CELERY_BEAT_SCHEDULE = {
    "mirror-push": {
        "task": "leaderboard_site.hub.tasks.mirror_push_all",
        "schedule": MIRROR_INTERVAL,
        "options": {"expires": MIRROR_INTERVAL},
    },
    "mirror-pull": {
        "task": "leaderboard_site.hub.tasks.mirror_pull_all",
        "schedule": MIRROR_INTERVAL,
        "options": {"expires": MIRROR_INTERVAL},
    },
    "reclaim-expired-evaluations": {
        "task": "submissions.tasks.reclaim_expired",
        "schedule": max(5, EVAL_LEASE_SECONDS // 2),
        "options": {"expires": EVAL_LEASE_SECONDS},
    },
    "reclaim-benchmarks": {
        "task": "benchmarks.tasks.benchmarks_reclaim",
        "schedule": max(5, BENCHMARK_LEASE_SECONDS // 2),
        "options": {"expires": BENCHMARK_LEASE_SECONDS},
    },
    # Picks up requeued requests; a submission also starts an evaluation at once.
    "evaluate-next": {
        "task": "submissions.tasks.evaluate_next",
        "schedule": 60,
        "options": {"expires": 60},
    },
}

# --- Test Bench providers (more in the admin) ---------------------------------------------
# `openai` (any OpenAI-compatible server) and `anthropic` exist when their key or base URL is
# set. Keys are never returned by an API nor logged.
OPENAI_API_KEY = env.optional("OPENAI_API_KEY")
OPENAI_BASE_URL = env.optional("OPENAI_BASE_URL")
ANTHROPIC_API_KEY = env.optional("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env.optional("ANTHROPIC_BASE_URL")
ENV_PROVIDERS: dict[str, dict[str, str | None]] = {
    name: {"kind": name, "base_url": base_url, "api_key": key}
    for name, key, base_url in (
        ("openai", OPENAI_API_KEY, OPENAI_BASE_URL),
        ("anthropic", ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL),
    )
    if key or base_url
}
# `huggingface`: local transformers models (needs the eval extra); `model` is a Hub id or folder.
if env.bool("HUGGINGFACE_LOCAL", default=False):
    ENV_PROVIDERS["huggingface"] = {"kind": "huggingface", "base_url": None, "api_key": None}
PROVIDER_TIMEOUT = env.float("PROVIDER_TIMEOUT", 60.0, minimum=0.1)
PROVIDER_MAX_RETRIES = env.int("PROVIDER_MAX_RETRIES", 3, minimum=0)
PROVIDER_MAX_CONCURRENCY = env.int("PROVIDER_MAX_CONCURRENCY", 8, minimum=1)
# Beat asks each provider for its model list this often (seconds; GET /v1/providers shows the
# last answer), and a process writes a provider's last call outcome at most this often.
PROVIDER_PROBE_INTERVAL = env.int("PROVIDER_PROBE_INTERVAL", 300, minimum=10)
PROVIDER_SEEN_INTERVAL = env.float("PROVIDER_SEEN_INTERVAL", 10.0, minimum=0.0)
CELERY_BEAT_SCHEDULE["probe-providers"] = {
    "task": "benchmarks.tasks.providers_probe",
    "schedule": PROVIDER_PROBE_INTERVAL,
    "options": {"expires": PROVIDER_PROBE_INTERVAL},
}
# Hourly, completions past COMPLETION_RETENTION_DAYS lose their text; daily, expired sign-outs
# are forgotten.
CELERY_BEAT_SCHEDULE["purge-completions"] = {
    "task": "benchmarks.tasks.completions_purge",
    "schedule": 3600,
    "options": {"expires": 3600},
}
CELERY_BEAT_SCHEDULE["purge-revoked-tokens"] = {
    "task": "leaderboard_site.accounts.tasks.revoked_tokens_purge",
    "schedule": 86400,
    "options": {"expires": 3600},
}
# The LLM judge of the faithfulness, relevance and coherence metrics (a configured provider).
JUDGE_PROVIDER = env.optional("JUDGE_PROVIDER")
JUDGE_MODEL = env.optional("JUDGE_MODEL")
# Seconds an evaluator plugin may run before its caller gets 504 PLUGIN_TIMEOUT.
PLUGIN_TIMEOUT = env.float("PLUGIN_TIMEOUT", 10.0, minimum=0.01)
# Child processes per process of ours that run evaluator plugins (killed at PLUGIN_TIMEOUT), and
# the address space each may use (MB; 0 for no cap).
PLUGIN_PROCESSES = env.int("PLUGIN_PROCESSES", 2, minimum=1)
PLUGIN_MEMORY_MB = env.int("PLUGIN_MEMORY_MB", 1024, minimum=0)

# --- Idempotency-Key (leaderboard_site/api/idempotency.py) ------------------------------------
# Seconds a key's answer is replayed; beat forgets older keys every hour.
IDEMPOTENCY_TTL = env.int("IDEMPOTENCY_TTL", 86400, minimum=60)
# A key's first request still running after this many seconds is presumed dead (its process
# killed): a retry with the key takes it over instead of getting 409 IN_PROGRESS.
IDEMPOTENCY_RUNNING_SECONDS = env.int("IDEMPOTENCY_RUNNING_SECONDS", 900, minimum=1)
CELERY_BEAT_SCHEDULE["purge-idempotency-keys"] = {
    "task": "leaderboard_site.api.tasks.idempotency_keys_purge",
    "schedule": 3600,
    "options": {"expires": 3600},
}

# --- webhooks (the webhooks app) --------------------------------------------------------------
# A delivery is tried again (1 min, 2, 4... at most WEBHOOK_BACKOFF_MAX seconds apart) until
# WEBHOOK_RETRY_SECONDS after its event; an endpoint failing that long is disabled.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", 10.0, minimum=0.1)
WEBHOOK_RETRY_SECONDS = env.int("WEBHOOK_RETRY_SECONDS", 86400, minimum=60)
WEBHOOK_BACKOFF_MAX = env.int("WEBHOOK_BACKOFF_MAX", 3600, minimum=60)
# Endpoints resolving to loopback, private, link-local, multicast or reserved addresses are
# refused, unless WEBHOOK_ALLOW_PRIVATE or their address is in WEBHOOK_ALLOWED_NETWORKS (CIDRs).
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS")
for _network in WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS: {_exc}") from _exc
CELERY_BEAT_SCHEDULE["webhook-deliveries"] = {
    "task": "webhooks.tasks.deliveries_due",
    "schedule": 60,
    "options": {"expires": 60},
}
