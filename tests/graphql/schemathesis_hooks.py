"""Schemathesis' check for /graphql (loaded through SCHEMATHESIS_HOOKS by the run's process).

Its own `not_a_server_error` counts every GraphQL error as a server's, but most of ours are
refusals by design (a field the caller may not see, a bad argument: UNAUTHORIZED, FORBIDDEN,
BAD_REQUEST... in `extensions.code`). A bug is an HTTP 5xx or an error coded INTERNAL_ERROR.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """No HTTP 5xx, and no GraphQL error whose extensions' code is INTERNAL_ERROR."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:2000]}")
    try:
        body = json.loads(response.text)
    except ValueError:
        message = f"not JSON (HTTP {response.status_code}): {response.text[:500]}"
        raise AssertionError(message) from None
    errors = body.get("errors") if isinstance(body, dict) else None
    internal = [error for error in errors or ()
                if (error.get("extensions") or {}).get("code") == "INTERNAL_ERROR"]  # fmt: skip
    if internal:
        raise AssertionError(f"INTERNAL_ERROR: {json.dumps(internal)[:2000]}")
