"""The client's IP: X-Forwarded-For is believed only from TRUSTED_PROXIES."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    trusted = set(settings.TRUSTED_PROXIES)
    if remote not in trusted:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in forwarded if hop]):
        if hop not in trusted:
            return hop  # the nearest address our proxies did not vouch for
    return remote
