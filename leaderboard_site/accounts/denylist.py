"""Signed-out JWTs, refused until they expire.

The database holds the list (RevokedToken); the shared cache holds a copy that every JWT
request reads in one round trip: the token's own key and a marker saying the copy is loaded.
Without the marker (a cache that was flushed or restarted, or the marker's hour ran out) the
copy is reloaded from the database first, so a signed-out token is never let through by a
cache that forgot it.
"""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

from leaderboard_site.accounts.models import RevokedToken

PREFIX = "jwt-revoked:"
LOADED = "jwt-revoked-loaded"
LOADED_FOR = 3600  # seconds: the copy is reloaded this often (in case the cache evicted a key)


def _remaining(expires_at: dt.datetime) -> int:
    return max(1, int((expires_at - timezone.now()).total_seconds()) + 1)


def remember(jti: str, expires_at: dt.datetime) -> None:
    """Put one signed-out token in the cache's copy (its row is already written)."""
    cache.set(f"{PREFIX}{jti}", 1, timeout=_remaining(expires_at))


def _load() -> None:
    rows = RevokedToken.objects.filter(expires_at__gt=timezone.now()).values_list(
        "jti", "expires_at"
    )
    for jti, expires_at in rows.iterator(chunk_size=2000):
        remember(jti, expires_at)
    cache.set(LOADED, 1, timeout=LOADED_FOR)


def is_revoked(jti: str) -> bool:
    """Whether the token `jti` was signed out (and has not expired yet)."""
    key = f"{PREFIX}{jti}"
    found = cache.get_many([key, LOADED])
    if key in found:
        return True
    if LOADED in found:
        return False
    _load()
    return cache.get(key) is not None
