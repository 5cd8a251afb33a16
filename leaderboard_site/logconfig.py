"""Structured JSON logs: one object per line, with the request id when there is one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from django.core.exceptions import ImproperlyConfigured

from leaderboard_site.api.context import request_id_var

_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            (key, value) for key, value in record.__dict__.items() if key not in _STANDARD_ATTRS
        )
        if "request_id" not in payload and (request_id := request_id_var.get()):
            payload["request_id"] = request_id  # a request's, or the one its task carries
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


def build_logging(level: str, per_component: dict[str, str]) -> dict[str, Any]:
    """LOGGING for dictConfig: `level` for everything, `per_component` for named loggers."""
    # HTTP client libraries log every request at INFO: a benchmark run makes hundreds a
    # second, and our access log already has one line per request we serve.
    quiet = ("django.server", "daphne", "httpx", "httpx2", "httpcore", "httpcore2", "openai",
             "anthropic")  # fmt: skip
    loggers: dict[str, Any] = {name: {"level": "WARNING"} for name in quiet}
    for name, component_level in per_component.items():
        if component_level.upper() not in _LEVELS:
            raise ImproperlyConfigured(
                f"LOG_LEVELS: {name}={component_level!r} is not a level ({sorted(_LEVELS)})"
            )
        loggers[name] = {"level": component_level.upper()}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "leaderboard_site.logconfig.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
