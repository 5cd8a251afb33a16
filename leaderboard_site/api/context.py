"""The current request id, readable anywhere (logs, error envelopes, tasks queued by a request)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id(sent: str | None) -> str:
    """Keep the caller's id when it is a sane token; otherwise make one."""
    if sent and _SAFE_ID.match(sent):
        return sent
    return str(uuid.uuid4())


def current_request_id() -> str:
    return request_id_var.get() or str(uuid.uuid4())
