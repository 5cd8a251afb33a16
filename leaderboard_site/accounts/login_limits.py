"""How password guessing is slowed without locking the real user out.

Three fixed windows (django-ratelimit's counters, in the shared cache):
- every attempt per client address (LOGIN_RATE);
- failures per username and address (LOGIN_RATE): one address guessing one account;
- failures per username across all addresses (LOGIN_USER_RATE, e.g. 100/h): many addresses
  guessing one account. An address the user signed in from before (remembered for
  LOGIN_KNOWN_DAYS) is not held back by this one, so an attacker who spends it locks out only
  strangers, never the user at their usual address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from leaderboard_site.api.clientip import client_ip
from leaderboard_site.api.errors import TooManyRequests

KNOWN_PREFIX = "login-known:"


def _known_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.lower()}\0{address}".encode()).hexdigest()
    return f"{KNOWN_PREFIX}{digest}"


def _windows(request: HttpRequest, username: str) -> dict[str, tuple[str, Callable[..., str]]]:
    address, user = client_ip(request), username.lower()
    return {
        "login-user-ip": (settings.LOGIN_RATE, lambda group, req: f"{user}\0{address}"),
        "login-user": (settings.LOGIN_USER_RATE, lambda group, req: user),
        "login-ip": (settings.LOGIN_RATE, lambda group, req: address),
    }


def _usage(request: HttpRequest, group: str, rate: str, key: Any, *, count: bool) -> Any:
    return get_usage(request, group=group, key=key, rate=rate, increment=count)


def _refuse(group: str, usage: dict[str, Any]) -> None:
    retry_after = max(1, int(usage["time_left"]))
    raise TooManyRequests(
        f"Too many login attempts. Try again in {retry_after} seconds.",
        details={"scope": group},
        extra={"retry_after": retry_after},
    )


def check(request: HttpRequest, username: str) -> None:
    """Before the password is checked: 429 when a window is full. Counts the attempt per
    address."""
    if not settings.RATE_LIMIT_ENABLED:
        return
    windows = _windows(request, username)
    known = caches["ratelimit"].get(_known_key(username, client_ip(request))) is not None
    for group, (rate, key) in windows.items():
        if group == "login-user" and known:
            continue
        usage = _usage(request, group, rate, key, count=group == "login-ip")
        if usage and (usage["should_limit"] or (group != "login-ip" and _full(usage))):
            _refuse(group, usage)


def _full(usage: dict[str, Any]) -> bool:
    """A failures window that holds its limit already (the next failure would pass it)."""
    return int(usage["count"]) >= int(usage["limit"])


def failed(request: HttpRequest, username: str) -> None:
    """After a wrong password: counted per username and address, and per username."""
    if not settings.RATE_LIMIT_ENABLED:
        return
    for group, (rate, key) in _windows(request, username).items():
        if group != "login-ip":
            _usage(request, group, rate, key, count=True)


def succeeded(request: HttpRequest, username: str) -> None:
    """After a good password: this address is the user's own from now on."""
    timeout = settings.LOGIN_KNOWN_DAYS * 86400
    caches["ratelimit"].set(_known_key(username, client_ip(request)), 1, timeout=timeout)
